// Package unit reads systemd unit files the way systemd reads them and turns them into typed
// configuration: syntax (systemd.syntax(7)), the [Unit], [Socket], [Service], [Target] and
// [Install] sections with systemd's defaults, the unit search path, drop-ins, templates,
// specifiers, aliases and masking.
//
// The package is pure: it reads files, never writes or starts anything. Every diagnostic
// carries the file and line it is about. Enablement (the symlinks [Install] makes) is
// unit/install, calendar events unit/calendar, the properties of show unit/show.
package unit
