// Command goserver is foobard written in Go: the same socket-activated echo daemon as
// ../server.c, using go-systemd's activation package instead of libsystemd.
//
// It expects exactly one listening unix stream socket from the service manager (fd 3,
// LISTEN_FDS=1, LISTEN_PID=its own pid), accepts connections one after the other and echoes
// every byte back until the client closes. It logs to stderr.
package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"

	"github.com/coreos/go-systemd/v22/activation"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("goserver: ")
	if err := run(); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}

func run() error {
	// unsetEnv=true: the LISTEN_* variables are meant for this process only.
	listeners, err := activation.Listeners()
	if err != nil {
		return fmt.Errorf("activation: %w", err)
	}
	if len(listeners) != 1 {
		return fmt.Errorf("expected 1 socket from the service manager, got %d", len(listeners))
	}
	ln, ok := listeners[0].(*net.UnixListener)
	if !ok {
		return fmt.Errorf("fd 3 is not a unix stream socket (got %T)", listeners[0])
	}
	log.Printf("pid %d serving on %s", os.Getpid(), ln.Addr())
	for served := 1; ; served++ {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("accept: %w", err)
		}
		n, err := io.Copy(c, c)
		if err != nil {
			log.Printf("connection %d: %v", served, err)
		} else {
			log.Printf("connection %d done (%d bytes)", served, n)
		}
		c.Close()
	}
}
