module github.com/flint-init/flint

go 1.26.8

require (
	github.com/coreos/go-systemd/v22 v22.7.0
	golang.org/x/sys v0.50.0
)

require github.com/godbus/dbus/v5 v5.2.4
