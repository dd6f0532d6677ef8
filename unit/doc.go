// Package unit reads systemd unit files the way systemd reads them and turns them into typed
// configuration: syntax (systemd.syntax(7)), the [Unit], [Socket], [Service], [Target] and
// [Install] sections with systemd's defaults, the unit search path, drop-ins, templates,
// specifiers, aliases, masking and offline enablement ([Install]).
//
// The package is pure: it reads files and never starts anything. Every diagnostic carries the
// file and line it is about.
package unit
