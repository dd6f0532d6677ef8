// Command hostile is the soak suite's other side (test/soak builds it): the hostile local
// user's clients of the control and notify sockets, and the small service programs the
// suite's units run. Every mode that reports prints one JSON object on stdout; a mode that
// holds connections prints it once they are all open and then waits for its stdin to close.
//
//	hostile control idle|follow|garbage|oversize|slowloris N SOCKET [UNIT]
//	hostile notify ADDRESS forge|creds|flood|huge|fds N [MAINPID [FOREIGNPID]]
//	hostile notify-main          Type=notify main process: READY=1, STATUS=main N on SIGUSR1
//	hostile serve-once           Accept=no: answer one connection on fd 3, then exit 1
//	hostile serve                Accept=no: answer every connection on fd 3 with its pid
//	hostile hold                 Accept=yes: "hi" on stdout (the connection), read it to EOF
//	hostile sleep [ignore-term] [own-group]  sleep for ever
package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		fail("usage: hostile MODE ARGS...")
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "control":
		if len(args) < 3 {
			fail("usage: hostile control KIND N SOCKET [UNIT]")
		}
		unit := "quiet.service"
		if len(args) > 3 {
			unit = args[3]
		}
		control(args[0], atoi(args[1]), args[2], unit)
	case "notify":
		if len(args) < 3 {
			fail("usage: hostile notify ADDRESS KIND N [MAINPID [FOREIGNPID]]")
		}
		var pids []int
		for _, a := range args[3:] {
			pids = append(pids, atoi(a))
		}
		notifyAttack(args[0], args[1], atoi(args[2]), pids)
	case "notify-main":
		notifyMain()
	case "serve-once":
		serve(true)
	case "serve":
		serve(false)
	case "hold":
		os.Stdout.WriteString("hi\n")
		io.Copy(io.Discard, os.Stdin)
	case "sleep":
		for _, a := range args {
			switch a {
			case "ignore-term":
				signal.Ignore(syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT)
			case "own-group":
				syscall.Setpgid(0, 0) // a process group of its own, in the same session
			}
		}
		for {
			time.Sleep(time.Hour)
		}
	default:
		fail("unknown mode " + os.Args[1])
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "hostile:", msg)
	os.Exit(2)
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		fail(err.Error())
	}
	return n
}

// report prints the counters as one JSON line.
func report(v any) {
	b, _ := json.Marshal(v)
	os.Stdout.Write(append(b, '\n'))
}

// waitStdin blocks until stdin is closed: the suite's signal to let go.
func waitStdin() { io.Copy(io.Discard, os.Stdin) }

// raiseNofile lifts the soft descriptor limit to the hard one (a flood needs many).
func raiseNofile() {
	var rl unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) == nil {
		rl.Cur = rl.Max
		unix.Setrlimit(unix.RLIMIT_NOFILE, &rl)
	}
}

// controlResult counts what became of a control-socket client's connections.
type controlResult struct {
	Opened     int    `json:"opened"`
	DialErrors int    `json:"dial_errors"`
	BadRequest int    `json:"bad_request"` // answered "bad-request" (or, for oversize, cut off)
	Answered   int    `json:"answered"`    // answered with data (a follow that started)
	Refused    int    `json:"refused"`     // answered with another error (a limit)
	Closed     int    `json:"closed"`      // closed without an answer
	Silent     int    `json:"silent"`      // no answer within the wait
	MaxMillis  int64  `json:"max_ms"`      // slowloris: longest time until the server gave up
	FirstError string `json:"first_error,omitempty"`
}

// garbage is what the garbage clients send, one line each in turn.
var garbage = [][]byte{
	[]byte("hello\n"), []byte("\x00\x01\x02\xff\xfe\n"), []byte("{\n"), []byte("}{\n"), []byte("[]\n"),
	[]byte(`{"verb":7}` + "\n"), []byte(`{"verb":"status","units":"x"}` + "\n"), []byte(`{"verb":""}` + "\n"),
	[]byte(`{"verb":"logs","lines":-99}` + "\n"), []byte(`{"units":["a"]}` + "\n"), []byte("\n"),
	[]byte(`{"verb":"status","since":"yesterday"}` + "\n"), []byte(`{"verb":"status","lines":1e999}` + "\n"),
	append(append(bytes.Repeat([]byte("["), 100000), bytes.Repeat([]byte("]"), 100000)...), '\n'),
	[]byte("\xef\xbb\xbf{\"verb\":\"status\"}\n"), []byte(`{"verb":"status"` + "\x00}\n"),
}

func control(kind string, n int, sock, unit string) {
	raiseNofile()
	var res controlResult
	var mu sync.Mutex
	count := func(f func(r *controlResult)) {
		mu.Lock()
		f(&res)
		mu.Unlock()
	}
	var conns []*net.UnixConn
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64) // clients that talk run 64 at a time
	for i := 0; i < n; i++ {
		c, err := dialPersistently(sock)
		if err != nil {
			count(func(r *controlResult) {
				r.DialErrors++
				if r.FirstError == "" {
					r.FirstError = err.Error()
				}
			})
			continue
		}
		res.Opened++
		switch kind {
		case "idle":
			conns = append(conns, c)
		case "follow":
			conns = append(conns, c)
			wg.Add(1)
			go func() {
				defer wg.Done()
				fmt.Fprintf(c, `{"verb":"logs","units":[%q],"follow":true,"lines":1}`+"\n", unit)
				kindOf(c, 20*time.Second, count)
			}()
		case "garbage", "oversize":
			line := garbage[i%len(garbage)]
			if kind == "oversize" {
				line = bytes.Repeat([]byte("a"), 1<<20+4096) // api.MaxRequestSize is 1 MiB
			}
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				defer c.Close()
				go c.Write(line) // the server may stop reading: do not wait for the write
				kindOf(c, 30*time.Second, count)
			}()
		case "slowloris":
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				start := time.Now()
				go func() {
					for _, b := range []byte(`{"verb":"status","units":["` + unit + `"]}`) {
						if _, err := c.Write([]byte{b}); err != nil {
							return
						}
						time.Sleep(time.Second)
					}
				}()
				kindOf(c, 120*time.Second, count)
				ms := time.Since(start).Milliseconds()
				count(func(r *controlResult) { r.MaxMillis = max(r.MaxMillis, ms) })
			}()
		default:
			fail("unknown control kind " + kind)
		}
	}
	wg.Wait()
	report(&res)
	if kind == "idle" || kind == "follow" {
		waitStdin()
		// Exiting closes every connection at once, as a killed client's do. Until then the
		// connections must stay reachable: the garbage collector closes a net.Conn nobody
		// refers to any more.
		runtime.KeepAlive(conns)
	}
}

// dialPersistently connects to the unix socket sock, trying again for up to 10s while its
// backlog is full (EAGAIN): a flood is as fast as the manager accepts.
func dialPersistently(sock string) (*net.UnixConn, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: sock, Net: "unix"})
		if err == nil || !errors.Is(err, syscall.EAGAIN) || time.Now().After(deadline) {
			return c, err
		}
		time.Sleep(time.Millisecond)
	}
}

// kindOf reads the first reply line on c (for at most wait) and counts what it was.
func kindOf(c *net.UnixConn, wait time.Duration, count func(func(*controlResult))) {
	c.SetReadDeadline(time.Now().Add(wait))
	line, err := bufio.NewReader(c).ReadBytes('\n')
	var r struct {
		Done  bool            `json:"done"`
		Code  string          `json:"code"`
		Error string          `json:"error"`
		Data  json.RawMessage `json:"data"`
	}
	switch {
	case err != nil && len(line) == 0:
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			count(func(r *controlResult) { r.Silent++ })
		} else {
			count(func(r *controlResult) { r.Closed++ })
		}
	case json.Unmarshal(line, &r) != nil:
		count(func(res *controlResult) {
			res.Refused++
			if res.FirstError == "" {
				res.FirstError = "unreadable reply: " + string(line)
			}
		})
	case r.Code == "bad-request":
		count(func(res *controlResult) { res.BadRequest++ })
	case r.Error != "":
		count(func(res *controlResult) {
			res.Refused++
			if res.FirstError == "" {
				res.FirstError = r.Code + ": " + r.Error
			}
		})
	default:
		count(func(res *controlResult) { res.Answered++ })
	}
}

// notifyResult counts the datagrams sent to a notify socket.
type notifyResult struct {
	Sent       int    `json:"sent"`
	Errors     int    `json:"errors"`
	FirstError string `json:"first_error,omitempty"`
	// CredsRefused: the kernel refused credentials naming another process (creds).
	CredsRefused bool `json:"creds_refused"`
}

// notifyAttack sends datagrams that are not the sender's to send: forgeries of another
// unit's messages (forge: pids[0] is its main pid, pids[1] a process of nobody's choosing),
// credentials naming the main process (creds), a flood of small messages, oversized ones,
// and messages carrying 253 descriptors each.
func notifyAttack(addr, kind string, n int, pids []int) {
	raiseNofile()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		fail(err.Error())
	}
	to := &unix.SockaddrUnix{Name: addr} // "@name": the abstract namespace, as x/sys writes it
	var res notifyResult
	send := func(data, oob []byte) {
		if err := unix.Sendmsg(fd, data, oob, to, 0); err != nil {
			res.Errors++
			if res.FirstError == "" {
				res.FirstError = err.Error()
			}
			return
		}
		res.Sent++
	}
	devnull, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		fail(err.Error())
	}
	switch kind {
	case "forge":
		mainPID, foreign := 0, 0
		if len(pids) > 1 {
			mainPID, foreign = pids[0], pids[1]
		}
		for i := 0; i < n; i++ {
			for _, m := range []string{
				fmt.Sprintf("MAINPID=%d\nREADY=1", foreign), fmt.Sprintf("MAINPID=%d", mainPID), "READY=1",
				"STOPPING=1", "RELOADING=1\nMONOTONIC_USEC=1", "STATUS=forged", "ERRNO=13", "EXIT_STATUS=7",
				"WATCHDOG=trigger", "WATCHDOG_USEC=1", "EXTEND_TIMEOUT_USEC=1", "BUSERROR=org.forged.Error",
			} {
				send([]byte(m), nil)
			}
			send([]byte("FDSTORE=1\nFDNAME=forged"), unix.UnixRights(devnull))
			send([]byte("BARRIER=1"), unix.UnixRights(devnull))
		}
	case "creds":
		mainPID := 0
		if len(pids) > 0 {
			mainPID = pids[0]
		}
		oob := unix.UnixCredentials(&unix.Ucred{Pid: int32(mainPID), Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid())})
		err := unix.Sendmsg(fd, []byte("STATUS=claims to be the main process\nREADY=1"), oob, to, 0)
		res.CredsRefused = errors.Is(err, unix.EPERM)
		if err == nil {
			res.Sent++
		} else if !res.CredsRefused {
			res.Errors++
			res.FirstError = err.Error()
		}
	case "flood":
		for i := 0; i < n; i++ {
			send([]byte("STATUS=flood "+strconv.Itoa(i)+"\nREADY=1"), nil)
		}
	case "huge":
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 1<<20)
		big := append([]byte("READY=1\nSTATUS="), bytes.Repeat([]byte("x"), 60000)...)
		for i := 0; i < n; i++ {
			send(big, nil)
		}
	case "fds":
		fds := make([]int, 253) // the kernel's SCM_MAX_FD
		for i := range fds {
			fds[i] = devnull
		}
		oob := unix.UnixRights(fds...)
		for i := 0; i < n; i++ {
			send([]byte("FDSTORE=1\nFDNAME=flood"), oob)
		}
	default:
		fail("unknown notify kind " + kind)
	}
	report(&res)
}

// notifyMain is a Type=notify service's main process: it says READY=1 with STATUS=main 0,
// then STATUS=main N at its Nth SIGUSR1, so that a test can see that the real sender is
// still heard.
func notifyMain() {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		fail("no NOTIFY_SOCKET")
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		fail(err.Error())
	}
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	if _, err := c.Write([]byte("READY=1\nSTATUS=main 0")); err != nil {
		fail(err.Error())
	}
	var n atomic.Int64
	for range usr1 {
		c.Write([]byte("STATUS=main " + strconv.FormatInt(n.Add(1), 10)))
	}
}

// serve answers connections on the listening socket passed as fd 3 (LISTEN_FDS): a line
// "served PID TOKEN" each, TOKEN random per process (pids are reused); once, as a service
// that crashes after every request, or for ever.
func serve(once bool) {
	if os.Getenv("LISTEN_FDS") != "1" || os.Getenv("LISTEN_PID") != strconv.Itoa(os.Getpid()) {
		fail("no listening socket (LISTEN_FDS, LISTEN_PID)")
	}
	ln, err := net.FileListener(os.NewFile(3, "listen"))
	if err != nil {
		fail(err.Error())
	}
	var token [8]byte
	rand.Read(token[:])
	for {
		c, err := ln.Accept()
		if err != nil {
			fail(err.Error())
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		bufio.NewReader(c).ReadString('\n')
		fmt.Fprintf(c, "served %d %x\n", os.Getpid(), token)
		c.Close()
		if once {
			os.Exit(1)
		}
	}
}
