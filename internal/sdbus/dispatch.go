package sdbus

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/godbus/dbus/v5"

	"github.com/flint-init/flint/internal/control"
)

// ReadOnlyMethod reports whether a systemd1 method only reads state: any uid may call it.
// Every other method needs a privileged peer (polkit, which systemd asks for the others, is
// not consulted).
func ReadOnlyMethod(member string) bool {
	switch member {
	case "GetUnit", "GetUnitByPID", "GetUnitByInvocationID", "GetUnitByControlGroup", "LoadUnit",
		"GetUnitProcesses", "GetProcesses", "GetJob", "GetJobAfter", "GetJobBefore", "GetAfter", "GetBefore",
		"ListUnits", "ListUnitsFiltered", "ListUnitsByPatterns", "ListUnitsByNames", "ListJobs",
		"Subscribe", "Unsubscribe", "Dump", "DumpUnitsMatchingPatterns", "ListUnitFiles",
		"ListUnitFilesByPatterns", "GetUnitFileState", "GetDefaultTarget", "GetUnitFileLinks",
		"LookupDynamicUserByName", "LookupDynamicUserByUID", "GetDynamicUsers":
		return true
	}
	return false
}

func header(msg *dbus.Message, f dbus.HeaderField) string {
	v, ok := msg.Headers[f]
	if !ok {
		return ""
	}
	switch x := v.Value().(type) {
	case string:
		return x
	case dbus.ObjectPath:
		return string(x)
	case dbus.Signature:
		return x.String()
	}
	return ""
}

// dispatch serves one method call of the connection's peer on the connection's goroutine.
func (c *conn) dispatch(msg *dbus.Message, fds []*os.File) { c.dispatchAs(msg, fds, c.peer, "") }

// replyTo answers msg of sender ("" on a peer connection) with an error.
func (c *conn) replyTo(msg *dbus.Message, fds []*os.File, sender, name, text string) {
	call := &Call{c: c, serial: msg.Serial(), dest: sender, noReply: msg.Flags&dbus.FlagNoReplyExpected != 0, fds: fds}
	call.Fail(name, text)
}

// dispatchAs serves one method call of peer (fds passed with it): on a bus connection, of the client whose unique
// name is sender (the reply's destination).
func (c *conn) dispatchAs(msg *dbus.Message, fds []*os.File, peer Peer, sender string) {
	call := &Call{Peer: peer, Path: dbus.ObjectPath(header(msg, dbus.FieldPath)),
		Interface: header(msg, dbus.FieldInterface), Member: header(msg, dbus.FieldMember),
		Body: msg.Body, c: c, serial: msg.Serial(), dest: sender, noReply: msg.Flags&dbus.FlagNoReplyExpected != 0, fds: fds}
	sig := header(msg, dbus.FieldSignature)
	dest := header(msg, dbus.FieldDestination)
	if c.bus == nil && (dest == ifaceDBus || call.Path == dbusSelfPath && dest == "" && call.Interface == ifaceDBus) {
		c.busMethod(call)
		return
	}
	b := c.s.backend
	if call.Path == ManagerPath+"/unit/self" {
		if r, isResolver := b.(SelfResolver); isResolver {
			p, text, ok := r.SelfPath(peer.PID)
			if !ok {
				call.Fail(ErrNoUnitForPID, text)
				return
			}
			call.Path = p
		}
	}
	ifaces, _, ok := b.Object(call.Path)
	if !ok {
		if r, isRefuser := b.(ObjectRefuser); isRefuser {
			if name, msg, refused := r.RefuseObject(call.Path); refused {
				call.Fail(name, msg)
				return
			}
		}
		call.Fail(ErrUnknownObject, fmt.Sprintf("Unknown object '%s'.", call.Path))
		return
	}
	iface := call.Interface
	if iface == "" {
		// No interface named: the first one that has the member.
		for _, n := range append([]string{ifacePeer, ifaceIntro, ifaceProps}, ifaces...) {
			if hasMethod(n, call.Member) {
				iface = n
				break
			}
		}
		call.Interface = iface
	}
	switch iface {
	case ifacePeer:
		switch call.Member {
		case "Ping":
			call.Reply()
		case "GetMachineId":
			id, err := os.ReadFile("/etc/machine-id")
			if err != nil {
				call.Fail(ErrFailed, "No machine ID: "+err.Error())
				return
			}
			call.Reply(strings.TrimSpace(string(id)))
		default:
			call.Fail(ErrUnknownMethod, fmt.Sprintf("Unknown method %s or interface %s.", call.Member, iface))
		}
		return
	case ifaceIntro:
		if call.Member != "Introspect" {
			call.Fail(ErrUnknownMethod, fmt.Sprintf("Unknown method %s or interface %s.", call.Member, iface))
			return
		}
		call.Reply(c.s.introspect(call.Path))
		return
	case ifaceProps:
		c.s.properties(call, sig, ifaces)
		return
	}
	if !slices.Contains(ifaces, iface) {
		call.Fail(ErrUnknownMethod, fmt.Sprintf("Unknown method %s or interface %s.", call.Member, iface))
		return
	}
	m, ok := interfaces()[iface].Methods[call.Member]
	if !ok || !b.Supported(iface, call.Member) {
		call.Fail(ErrUnknownMethod, fmt.Sprintf("Unknown method %s or interface %s.", call.Member, iface))
		return
	}
	if sig != m.In {
		call.Fail(ErrInvalidArgs, fmt.Sprintf("Invalid arguments '%s' to call %s.%s(), expecting '%s'.", sig, iface, call.Member, m.In))
		return
	}
	if !peer.Privileged && !ReadOnlyMethod(call.Member) {
		call.Fail(ErrAccessDenied, "Access denied")
		return
	}
	if !peer.Privileged {
		if n := longestList(call.Body); n > control.MaxNamesUnprivileged {
			call.Fail(ErrLimitsExceeded, fmt.Sprintf("Too many names in one call: %d (limit %d for unprivileged users).", n, control.MaxNamesUnprivileged))
			return
		}
	}
	// A bug in one method must not take the manager down with the connection's goroutine.
	defer func() {
		if r := recover(); r != nil {
			c.s.logf("D-Bus %s.%s: internal error: %v", iface, call.Member, r)
			call.Fail(ErrFailed, fmt.Sprintf("Internal error in %s.%s.", iface, call.Member))
		}
	}()
	b.Call(call)
}

// longestList is the length of the longest list of strings among a call's arguments (the
// unit names and patterns of ListUnitsByNames, ListUnitsByPatterns and the like): each costs
// the manager's loop a lookup or a match against every unit, which the control socket bounds
// for unprivileged peers too (control.MaxNamesUnprivileged).
func longestList(body []any) int {
	n := 0
	for _, a := range body {
		if l, ok := a.([]string); ok {
			n = max(n, len(l))
		}
	}
	return n
}

func hasMethod(iface, member string) bool {
	switch iface {
	case ifacePeer:
		return member == "Ping" || member == "GetMachineId"
	case ifaceIntro:
		return member == "Introspect"
	case ifaceProps:
		return member == "Get" || member == "GetAll" || member == "Set"
	}
	it := interfaces()[iface]
	if it == nil {
		return false
	}
	_, ok := it.Methods[member]
	return ok
}

// busMethod answers the few methods of the bus driver (org.freedesktop.DBus) that clients
// written for a bus call first: Hello (busctl with --address), AddMatch and RemoveMatch
// (every signal goes to every connection anyway), GetNameOwner, GetId.
func (c *conn) busMethod(call *Call) {
	switch call.Member {
	case "Hello":
		call.Reply(c.name)
	case "AddMatch", "RemoveMatch":
		call.Reply()
	case "GetNameOwner":
		if len(call.Body) == 1 && call.Body[0] == busName {
			call.Reply(":1.0")
			return
		}
		call.Fail("org.freedesktop.DBus.Error.NameHasNoOwner", "The name does not have an owner.")
	case "NameHasOwner":
		call.Reply(len(call.Body) == 1 && call.Body[0] == busName)
	case "ListNames":
		call.Reply([]string{busName, c.name})
	case "GetId":
		call.Reply(c.s.guid)
	default:
		call.Fail(ErrUnknownMethod, fmt.Sprintf("Unknown method %s on the peer-to-peer connection.", call.Member))
	}
}
