// Command client talks to the foobar echo daemon: it connects to the unix socket (-socket,
// default /run/foobar.sk), sends each line of stdin and prints the line that comes back.
// Connecting is what makes the service manager start foobard.
//
// It exits 1 if it cannot connect or if an echo differs from what was sent.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

func main() {
	socket := flag.String("socket", "/run/foobar.sk", "unix socket of the echo daemon")
	timeout := flag.Duration("timeout", 10*time.Second, "time allowed for each echo")
	flag.Parse()
	if err := run(*socket, *timeout, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
}

func run(socket string, timeout time.Duration, in io.Reader, out io.Writer) error {
	c, err := net.Dial("unix", socket)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer c.Close()
	lines := bufio.NewScanner(in)
	replies := bufio.NewReader(c)
	for lines.Scan() {
		sent := lines.Text() + "\n"
		if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
			return err
		}
		if _, err := io.WriteString(c, sent); err != nil {
			return fmt.Errorf("send: %w", err)
		}
		got, err := replies.ReadString('\n')
		if err != nil {
			return fmt.Errorf("read echo of %q: %w", sent, err)
		}
		if got != sent {
			return fmt.Errorf("echo mismatch: sent %q, got %q", sent, got)
		}
		fmt.Fprint(out, got)
	}
	return lines.Err()
}
