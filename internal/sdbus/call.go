package sdbus

import (
	"os"
	"sync"

	"github.com/godbus/dbus/v5"
)

// Call is one method call.
type Call struct {
	Peer      Peer
	Path      dbus.ObjectPath
	Interface string
	Member    string
	Body      []any

	c       *conn
	serial  uint32
	dest    string // a bus connection's caller
	noReply bool
	once    sync.Once
	// fds passed with the call (fds.go), closed with the reply unless taken.
	fdMu sync.Mutex
	fds  []*os.File
}

// Error names systemd answers with.
const (
	ErrNoSuchUnit        = "org.freedesktop.systemd1.NoSuchUnit"
	ErrNoSuchJob         = "org.freedesktop.systemd1.NoSuchJob"
	ErrNoUnitForPID      = "org.freedesktop.systemd1.NoUnitForPID"
	ErrUnitMasked        = "org.freedesktop.systemd1.UnitMasked"
	ErrLoadFailed        = "org.freedesktop.systemd1.LoadFailed"
	ErrJobNotApplicable  = "org.freedesktop.systemd1.JobTypeNotApplicable"
	ErrOnlyByDependency  = "org.freedesktop.systemd1.OnlyByDependency"
	ErrDestructive       = "org.freedesktop.systemd1.TransactionIsDestructive"
	ErrTransactionCycle  = "org.freedesktop.systemd1.TransactionOrderIsCyclic"
	ErrUnitExists        = "org.freedesktop.systemd1.UnitExists"
	ErrFailed            = "org.freedesktop.DBus.Error.Failed"
	ErrInvalidArgs       = "org.freedesktop.DBus.Error.InvalidArgs"
	ErrAccessDenied      = "org.freedesktop.DBus.Error.AccessDenied"
	ErrLimitsExceeded    = "org.freedesktop.DBus.Error.LimitsExceeded"
	ErrNotSupported      = "org.freedesktop.DBus.Error.NotSupported"
	ErrUnknownMethod     = "org.freedesktop.DBus.Error.UnknownMethod"
	ErrUnknownObject     = "org.freedesktop.DBus.Error.UnknownObject"
	ErrUnknownInterface  = "org.freedesktop.DBus.Error.UnknownInterface"
	ErrUnknownProperty   = "org.freedesktop.DBus.Error.UnknownProperty"
	ErrPropertyReadOnly  = "org.freedesktop.DBus.Error.PropertyReadOnly"
	ErrFileNotFound      = "org.freedesktop.DBus.Error.FileNotFound"
	ErrNoSuchProcess     = "org.freedesktop.DBus.Error.UnixProcessIdUnknown"
	ErrInteractiveAuthNo = "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"
)

// Reply answers the call with body (its signature is derived from the Go values: use
// dbus.ObjectPath, dbus.Variant and typed slices for the D-Bus types).
func (c *Call) Reply(body ...any) { c.ReplySig("", body...) }

// ReplySig is Reply with the body's signature given ("": derived from the values), for a
// body whose Go types godbus would give another signature with the same wire format.
func (c *Call) ReplySig(sig string, body ...any) {
	c.once.Do(func() {
		c.closeFDs()
		if c.noReply {
			return
		}
		msg := &dbus.Message{Type: dbus.TypeMethodReply, Headers: map[dbus.HeaderField]dbus.Variant{
			dbus.FieldReplySerial: dbus.MakeVariant(c.serial),
		}, Body: body}
		if sig == "" && len(body) > 0 {
			sig = dbus.SignatureOf(body...).String()
		}
		if sig != "" {
			msg.Headers[dbus.FieldSignature] = dbus.MakeVariant(dbus.ParseSignatureMust(sig))
		}
		c.send(msg)
	})
}

// Fail answers the call with the D-Bus error name and message.
func (c *Call) Fail(name, message string) {
	c.once.Do(func() {
		c.closeFDs()
		if c.noReply {
			return
		}
		c.send(errorMessage(c.serial, name, message))
	})
}

func errorMessage(serial uint32, name, message string) *dbus.Message {
	return &dbus.Message{Type: dbus.TypeError, Headers: map[dbus.HeaderField]dbus.Variant{
		dbus.FieldReplySerial: dbus.MakeVariant(serial),
		dbus.FieldErrorName:   dbus.MakeVariant(name),
		dbus.FieldSignature:   dbus.MakeVariant(dbus.SignatureOf(message)),
	}, Body: []any{message}}
}

func (c *Call) send(msg *dbus.Message) {
	if c.dest != "" {
		msg.Headers[dbus.FieldDestination] = dbus.MakeVariant(c.dest)
	}
	b, err := encode(msg)
	if err != nil {
		c.c.s.logf("D-Bus reply to %s.%s: %v", c.Interface, c.Member, err)
		em := errorMessage(c.serial, ErrFailed, "flint could not encode the reply: "+err.Error())
		if c.dest != "" {
			em.Headers[dbus.FieldDestination] = dbus.MakeVariant(c.dest)
		}
		b, _ = encode(em)
	}
	c.c.queue(b)
}
