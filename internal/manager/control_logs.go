package manager

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"

	"github.com/flint-init/flint/api"
	"github.com/flint-init/flint/internal/control"
	"github.com/flint-init/flint/internal/logs"
	"github.com/flint-init/flint/unit"
)

// Who reads the units' output. journald keeps it readable by root, the groups adm and
// systemd-journal (Debian's journalctl 252 grants those: the ACL of /var/log/journal names adm,
// and systemd-journal owns the files) and, in a user manager's journal, that user. flint's
// system manager does the same: root, its owner and the members of these groups see every
// unit's lines, anyone else none (journalctl's hint and error, and status without lines). A
// user manager (flint run --user) shows them to its own uid and root only.

// logGroupNames are the groups whose members may read the system manager's log lines, as
// journalctl's hint lists them.
var logGroupNames = []string{"adm", "systemd-journal"}

// logGroups resolves logGroupNames (those that exist) to their names and gids, for the
// system manager; a user manager has none.
func logGroups(scope unit.Scope) (names []string, gids []int) {
	if scope != unit.System {
		return nil, nil
	}
	for _, n := range logGroupNames {
		g, err := user.LookupGroup(n)
		if err != nil {
			continue
		}
		id, err := strconv.Atoi(g.Gid)
		if err != nil {
			continue
		}
		names, gids = append(names, n), append(gids, id)
	}
	return names, gids
}

// logAccessDenied is the reply to logs for a peer that may not read lines: journalctl's
// error for a user who could open no journal file (it exits 1), with the hint it prints
// before (flint logs prints it unless -q).
func (m *Manager) logAccessDenied() *api.Response {
	var hint string
	switch {
	case m.opt.Scope == unit.User:
		hint = fmt.Sprintf("Hint: You are currently not seeing messages from other users.\n"+
			"      Only root and uid %d can see this user manager's messages.\n"+
			"      Pass -q to turn off this notice.", os.Getuid())
	case len(m.logGroupNames) > 0:
		hint = fmt.Sprintf("Hint: You are currently not seeing messages from other users and the system.\n"+
			"      Users in groups '%s' can see all messages.\n"+
			"      Pass -q to turn off this notice.", strings.Join(m.logGroupNames, "', '"))
	default:
		hint = "Hint: You are currently not seeing messages from other users and the system.\n" +
			"      Users in the 'systemd-journal' group can see all messages. Pass -q to\n" +
			"      turn off this notice."
	}
	return &api.Response{Done: true, Code: "log-access", Error: "No journal files were opened due to insufficient permissions.", Hint: hint}
}

// ownLines is journald 252's rule for a user's own journal (SplitMode=uid) on the system
// manager, for a peer that may not read the logs: a regular user (not a system or dynamic
// user, not nobody) reads the lines its own processes wrote (_UID= its uid: its services'
// output, what it sent to the journal sockets) once there are any, and nothing else. nil
// for anyone else, or when there are none (journalctl then finds no file it may open).
func (m *Manager) ownLines(peer *control.Peer) func(*logs.Line) bool {
	if m.opt.Scope != unit.System || !regularUID(peer.UID) {
		return nil
	}
	uid := peer.UID
	own := func(l *logs.Line) bool { return l.Source != nil && l.Source.UID == uid }
	if len(m.logs.Select(&logs.Filter{Sender: own}, logs.Range{Lines: 1})) == 0 {
		return nil
	}
	return own
}

// regularUID: not a system user (SYSTEM_UID_MAX 999), a dynamic one (61184-65519) nor
// nobody, whose lines journald keeps in the system journal.
func regularUID(uid int) bool {
	return uid > 999 && !(uid >= 61184 && uid <= 65519) && uid != 65534
}

// serveLogs answers a logs request: the stored lines, then (with follow) new lines as they
// come, until the client hangs up (ctx) or the manager quits.
func (m *Manager) serveLogs(ctx context.Context, req *api.Request, peer *control.Peer, send func(*api.Response) error) {
	var own func(*logs.Line) bool
	var hint string
	if !peer.ReadsLogs {
		denied := m.logAccessDenied()
		if own = m.ownLines(peer); own == nil {
			send(denied)
			return
		}
		hint = denied.Hint // journalctl's notice: the user sees its own lines only
	}
	f, errResp := m.logFilter(req)
	if errResp != nil {
		send(errResp)
		return
	}
	if own != nil {
		f.Sender = own
	}
	var ch <-chan *logs.Line
	var cancel func()
	if req.Follow {
		ch, cancel = m.logs.Follow(f)
		defer cancel()
	}
	var sel []logs.Line
	if r := req.Range; r != nil {
		rg := logs.Range{Lines: r.Lines, Since: r.Since, Until: r.Until, AfterCursor: r.AfterCursor, Reverse: r.Reverse}
		if r.Cursor != "" {
			c, err := logs.ParseCursor(r.Cursor)
			if err != nil {
				send(&api.Response{Done: true, Code: "bad-request", Error: "Failed to seek to cursor: " + err.Error()})
				return
			}
			rg.Cursor = c
		}
		sel = m.logs.Select(f, rg)
	} else {
		n := req.Lines
		if n == 0 && !req.Follow {
			n = -1
		}
		if n == 0 {
			n = 10
		}
		sel = m.logs.Tail(f, n, req.Since)
	}
	lines := make([]api.LogLine, 0, len(sel))
	for i := range sel {
		lines = append(lines, m.apiLine(&sel[i], req.Cursors))
	}
	b, _ := json.Marshal(lines)
	if !req.Follow {
		send(&api.Response{Done: true, Data: b, Hint: hint})
		return
	}
	if err := send(&api.Response{Data: b, Hint: hint}); err != nil {
		return
	}
	for {
		select {
		case l, ok := <-ch:
			if !ok {
				send(&api.Response{Done: true})
				return
			}
			b, _ := json.Marshal([]api.LogLine{m.apiLine(l, req.Cursors)})
			if err := send(&api.Response{Data: b}); err != nil {
				return
			}
		case <-ctx.Done():
			return // the client hung up
		case <-m.quit:
			send(&api.Response{Done: true})
			return
		}
	}
}

// logFilter is the selection of a logs request (logs.FilterOf), or the reply refusing it.
func (m *Manager) logFilter(req *api.Request) (*logs.Filter, *api.Response) {
	f, err := logs.FilterOf(req.Units, req.Match, normalizeName, m.logs.Units)
	if fe, ok := err.(*logs.FilterError); ok {
		return nil, &api.Response{Done: true, Code: fe.Code, Error: fe.Msg}
	}
	return f, nil
}

// apiLine is l as the protocol carries it; with cursor, with its cursor.
func (m *Manager) apiLine(l *logs.Line, cursor bool) api.LogLine {
	return logs.APILine(l, m.logs.ID(), cursor)
}
