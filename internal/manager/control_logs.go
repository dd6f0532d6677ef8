package manager

import (
	"context"
	"encoding/json"

	"github.com/flint-init/flint/internal/api"
	"github.com/flint-init/flint/internal/logs"
)

// serveLogs answers a logs request: the stored lines, then (with follow) new lines as they
// come, until the client hangs up (ctx) or the manager quits.
func (m *Manager) serveLogs(ctx context.Context, req *api.Request, send func(*api.Response) error) {
	units := make([]string, 0, len(req.Units))
	for _, n := range req.Units {
		units = append(units, normalizeName(n))
	}
	var ch <-chan *logs.Line
	var cancel func()
	if req.Follow {
		ch, cancel = m.logs.Follow(units)
		defer cancel()
	}
	n := req.Lines
	if n == 0 && !req.Follow {
		n = -1
	}
	if n == 0 {
		n = 10
	}
	var lines []api.LogLine
	for _, l := range m.logs.Query(units, n, req.Since) {
		lines = append(lines, toAPILine(l))
	}
	b, _ := json.Marshal(lines)
	if !req.Follow {
		send(&api.Response{Done: true, Data: b})
		return
	}
	if err := send(&api.Response{Data: b}); err != nil {
		return
	}
	for {
		select {
		case l, ok := <-ch:
			if !ok {
				send(&api.Response{Done: true})
				return
			}
			b, _ := json.Marshal([]api.LogLine{toAPILine(*l)})
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
