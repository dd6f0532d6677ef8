// Package show turns a loaded unit's configuration into the properties `systemctl show`
// prints: systemd's D-Bus property names, in systemctl 252's order, with values formatted as
// systemctl formats them (timestamps, exec lines, listen addresses, shell quoting). The
// manager adds its runtime properties (MergeProperties); the CLI prints them.
package show
