// Package install is offline enablement, as systemctl does it on files alone: enable,
// disable, reenable, mask, unmask, link, preset, revert, set-default, add-wants/add-requires
// and is-enabled, following [Install] sections (WantedBy=, RequiredBy=, Alias=, Also=,
// DefaultInstance=) and the preset files (systemd.preset(5)). It writes and removes symlinks
// in the configuration directories a unit.Lookup names, and reports each change as systemctl
// prints it; the reading of unit files is package unit's.
package install
