package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// chainsvc is testdata/chainsvc, built once.
func chainsvc(t *testing.T) string {
	t.Helper()
	return buildOnce(t, "chainsvc", "go", "build", "-o", "{}", "./test/e2e/testdata/chainsvc")
}

const chainN = 16

// chainUnits writes the 16-service chain of issue 4 in one of its variants:
// "A" Type=notify services ordered with Requires=/After=, no sockets;
// "B" socket units for every service and a target that starts all services;
// "C" the same sockets, of which only the sockets are started.
func chainUnits(t *testing.T, variant, bin, dir, log string) string {
	files := map[string]string{}
	var all []string
	for k := 1; k <= chainN; k++ {
		name := fmt.Sprintf("chain%d", k)
		svc := fmt.Sprintf("[Unit]\nDescription=chain %d\n", k)
		// The overlap evidence of B and C needs every service started within one init time,
		// even on a loaded machine under -race: 2s; A's ordering evidence does not depend on it.
		initTime := "2s"
		if variant == "A" {
			initTime = "100ms"
		}
		args := fmt.Sprintf("%s -k %d -dir %s -log %s -init %s", bin, k, dir, log, initTime)
		switch variant {
		case "A":
			if k > 1 {
				svc += fmt.Sprintf("Requires=chain%d.service\nAfter=chain%d.service\n", k-1, k-1)
			}
			svc += "[Service]\nType=notify\nExecStart=" + args + " -listen\n"
			all = append(all, name+".service")
		default:
			files[name+".socket"] = fmt.Sprintf("[Unit]\nDescription=chain %d socket\n[Socket]\nListenStream=%s/s%d.sk\n", k, dir, k)
			svc += "[Service]\nExecStart=" + args + "\n"
			all = append(all, name+".socket")
			if variant == "B" {
				all = append(all, name+".service")
			}
		}
		files[name+".service"] = svc
	}
	files["chain.target"] = "[Unit]\nDescription=chain\nWants=" + strings.Join(all, " ") + "\n"
	return writeUnits(t, files)
}

type chainEvents struct{ start, ready map[int]int64 }

func readChainLog(t *testing.T, path string) chainEvents {
	t.Helper()
	ev := chainEvents{start: map[int]int64{}, ready: map[int]int64{}}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var what string
		var k int
		var ns int64
		if _, err := fmt.Sscanf(sc.Text(), "%s %d %d", &what, &k, &ns); err != nil {
			t.Fatalf("bad log line %q", sc.Text())
		}
		if what == "start" {
			ev.start[k] = ns
		} else {
			ev.ready[k] = ns
		}
	}
	return ev
}

// askChain connects to service 16 and returns its answer.
func askChain(dir string) (string, error) {
	c, err := net.DialTimeout("unix", filepath.Join(dir, fmt.Sprintf("s%d.sk", chainN)), 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

// TestParallelStart checks the headline of socket activation with evidence of overlap, not
// timing: with sockets (B, C) every service starts before any is ready; with ordering alone (A)
// each starts only after its predecessor is ready.
func TestParallelStart(t *testing.T) {
	bin := chainsvc(t)
	for _, variant := range []string{"A", "B", "C"} {
		t.Run(variant, func(t *testing.T) {
			dir := t.TempDir()
			log := filepath.Join(dir, "events.log")
			units := chainUnits(t, variant, bin, dir, log)
			m := startManager(t, units)
			if variant == "C" {
				if out, code := m.flint("start", "chain.target"); code != 0 {
					t.Fatalf("start chain.target: %d %s", code, out)
				}
				if _, err := os.Stat(log); err == nil {
					t.Fatal("a service started before any connection")
				}
				if got, err := askChain(dir); err != nil || got != strconv.Itoa(chainN) {
					t.Fatalf("service %d answered %q, %v", chainN, got, err)
				}
			} else {
				if out, code := m.flint("start", "chain.target"); code != 0 {
					t.Fatalf("start chain.target: %d %s", code, out)
				}
				if got, err := askChain(dir); err != nil || got != strconv.Itoa(chainN) {
					t.Fatalf("service %d answered %q, %v", chainN, got, err)
				}
			}
			ev := readChainLog(t, log)
			if len(ev.start) != chainN || len(ev.ready) != chainN {
				t.Fatalf("%d services started, %d ready; want %d each", len(ev.start), len(ev.ready), chainN)
			}
			var starts, readies []int64
			for k := 1; k <= chainN; k++ {
				starts = append(starts, ev.start[k])
				readies = append(readies, ev.ready[k])
			}
			sort.Slice(starts, func(i, j int) bool { return starts[i] < starts[j] })
			sort.Slice(readies, func(i, j int) bool { return readies[i] < readies[j] })
			switch variant {
			case "A":
				for k := 2; k <= chainN; k++ {
					if ev.start[k] < ev.ready[k-1] {
						t.Errorf("A: service %d started before service %d was ready: Requires=/After= not honoured", k, k-1)
					}
				}
			default:
				if last, first := starts[chainN-1], readies[0]; last >= first {
					t.Errorf("%s: the last service started %v after the first was ready: no overlap", variant, time.Duration(last-first))
				}
			}
			total := time.Duration(readies[chainN-1] - starts[0])
			t.Logf("variant %s: first start to last ready %v", variant, total)
		})
	}
}
