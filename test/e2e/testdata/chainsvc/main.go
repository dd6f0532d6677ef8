// Command chainsvc is a test daemon for the parallel-start scenario of issue 4: service k
// connects to service k-1 as soon as it starts, needs -init before it can answer, and answers
// its own clients only once its upstream answered. It appends "start k <unix-ns>" and
// "ready k <unix-ns>" lines to -log.
//
// With -listen it opens its socket itself and reports READY=1 (Type=notify, no socket
// activation); otherwise it serves the listening socket handed over as fd 3.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

func main() {
	k := flag.Int("k", 1, "index of this service")
	dir := flag.String("dir", "", "directory of the sockets s<k>.sk")
	logPath := flag.String("log", "", "file to append start/ready lines to")
	initTime := flag.Duration("init", 300*time.Millisecond, "time needed before answering")
	listen := flag.Bool("listen", false, "open the socket itself and notify READY=1")
	flag.Parse()
	note := func(what string) {
		f, err := os.OpenFile(*logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Fprintf(f, "%s %d %d\n", what, *k, time.Now().UnixNano())
		f.Close()
	}
	note("start")
	var upstream net.Conn
	if *k > 1 {
		c, err := net.Dial("unix", filepath.Join(*dir, "s"+strconv.Itoa(*k-1)+".sk"))
		if err != nil {
			fmt.Fprintln(os.Stderr, "connect upstream:", err)
			os.Exit(1)
		}
		upstream = c
	}
	time.Sleep(*initTime)
	if upstream != nil {
		line, err := bufio.NewReader(upstream).ReadString('\n')
		if err != nil || line != strconv.Itoa(*k-1)+"\n" {
			fmt.Fprintf(os.Stderr, "upstream answered %q, %v\n", line, err)
			os.Exit(1)
		}
		upstream.Close()
	}
	var ln net.Listener
	var err error
	if *listen {
		p := filepath.Join(*dir, "s"+strconv.Itoa(*k)+".sk")
		os.Remove(p)
		ln, err = net.Listen("unix", p)
	} else {
		if os.Getenv("LISTEN_PID") != strconv.Itoa(os.Getpid()) || os.Getenv("LISTEN_FDS") != "1" {
			fmt.Fprintln(os.Stderr, "no socket handed over")
			os.Exit(1)
		}
		ln, err = net.FileListener(os.NewFile(3, "listen"))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(1)
	}
	note("ready")
	if *listen {
		daemon.SdNotify(false, daemon.SdNotifyReady)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			os.Exit(0)
		}
		fmt.Fprintf(c, "%d\n", *k)
		c.Close()
	}
}
