package sdbus

import (
	_ "embed"
	"fmt"
	"html"
	"slices"
	"strings"
	"sync"

	"github.com/godbus/dbus/v5"
)

//go:embed defaults.txt
var defaultsText string

// defaults are systemd's values of the properties of a unit without settings, by name.
var defaults = sync.OnceValue(func() map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(defaultsText, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			out[k] = v
		}
	}
	return out
})

// entry is one entry of an a{sv} that keeps its place: a D-Bus dict is an array of
// 8-aligned entries, as an array of structs is, so a slice of entries sent with the
// signature a{sv} is the dict in this order (godbus sends a Go map in random order, and
// clients such as systemctl read some properties in systemd's order).
type entry struct {
	K string
	V dbus.Variant
}

// dict is an ordered a{sv}.
type dict []entry

// typed converts the backend's properties of iface to D-Bus values, every property systemd
// declares for iface included, in systemd's order (systemd's default, else the zero value,
// for one the backend does not give).
func typed(iface string, props []Prop) dict {
	it := interfaces()[iface]
	if it == nil {
		return nil
	}
	texts := map[string][]string{}
	values := map[string]any{}
	for _, p := range props {
		if p.Value != nil {
			values[p.Name] = p.Value
			continue
		}
		texts[p.Name] = append(texts[p.Name], p.Text)
	}
	out := make(dict, 0, len(it.Props))
	for _, ps := range it.Props {
		var v any
		if x, ok := values[ps.Name]; ok {
			v = x
		} else if t, ok := texts[ps.Name]; ok {
			v = fromText(ps.Name, ps.Type, t)
		} else {
			out = append(out, entry{ps.Name, defaultValue(it.Name, ps)})
			continue
		}
		if v == nil {
			v = Zero(ps.Type)
		}
		out = append(out, entry{ps.Name, dbus.MakeVariantWithSignature(v, dbus.ParseSignatureMust(ps.Type))})
	}
	return out
}

// defaultCache holds the defaults as D-Bus values, by interface and property: they never
// change, and most properties of a unit are defaults.
var defaultCache sync.Map // [2]string -> dbus.Variant

// defaultValue is the value of a property the backend does not give: systemd's default,
// else the zero value of its type.
func defaultValue(iface string, ps PropSpec) dbus.Variant {
	key := [2]string{iface, ps.Name}
	if v, ok := defaultCache.Load(key); ok {
		return v.(dbus.Variant)
	}
	var v any
	if d, ok := defaults()[ps.Name]; ok {
		v = fromText(ps.Name, ps.Type, []string{d})
	}
	if v == nil {
		v = Zero(ps.Type)
	}
	variant := dbus.MakeVariantWithSignature(v, dbus.ParseSignatureMust(ps.Type))
	defaultCache.Store(key, variant)
	return variant
}

func (d dict) get(name string) (dbus.Variant, bool) {
	for _, e := range d {
		if e.K == name {
			return e.V, true
		}
	}
	return dbus.Variant{}, false
}

// Typed is what GetAll answers for the interface given the backend's properties.
func Typed(iface string, props []Prop) map[string]dbus.Variant {
	out := map[string]dbus.Variant{}
	for _, e := range typed(iface, props) {
		out[e.K] = e.V
	}
	return out
}

// properties serves org.freedesktop.DBus.Properties.
func (s *Server) properties(call *Call, sig string, ifaces []string) {
	want := map[string]string{"Get": "ss", "GetAll": "s", "Set": "ssv"}[call.Member]
	if want == "" {
		call.Fail(ErrUnknownMethod, fmt.Sprintf("Unknown method %s or interface %s.", call.Member, call.Interface))
		return
	}
	if sig != want {
		call.Fail(ErrInvalidArgs, fmt.Sprintf("Invalid arguments '%s' to call %s.%s(), expecting '%s'.", sig, ifaceProps, call.Member, want))
		return
	}
	iface := call.Body[0].(string)
	if iface != "" && !slices.Contains(ifaces, iface) {
		if iface == ifacePeer || iface == ifaceIntro || iface == ifaceProps {
			// Interfaces without properties.
			if call.Member == "GetAll" {
				call.Reply(map[string]dbus.Variant{})
				return
			}
		}
		call.Fail(ErrUnknownInterface, fmt.Sprintf("Unknown interface %s.", iface))
		return
	}
	list := ifaces
	if iface != "" {
		list = []string{iface}
	}
	switch call.Member {
	case "GetAll":
		out := dict{}
		if mp, ok := s.backend.(MultiProperties); ok && len(list) > 1 {
			all, err := mp.PropertiesAll(call.Path, list)
			if err != nil || len(all) != len(list) {
				call.Fail(ErrUnknownObject, fmt.Sprint(err))
				return
			}
			for i, n := range list {
				out = append(out, typed(n, all[i])...)
			}
			call.ReplySig("a{sv}", out)
			return
		}
		for _, n := range list {
			props, err := s.backend.Properties(call.Path, n)
			if err != nil {
				call.Fail(ErrUnknownObject, err.Error())
				return
			}
			out = append(out, typed(n, props)...)
		}
		call.ReplySig("a{sv}", out)
	case "Get", "Set":
		name := call.Body[1].(string)
		for _, n := range list {
			ps, ok := interfaces()[n].Prop(name)
			if !ok {
				continue
			}
			if call.Member == "Set" {
				if !ps.Write {
					call.Fail(ErrPropertyReadOnly, fmt.Sprintf("Property '%s' is not writable.", name))
					return
				}
				call.Fail(ErrNotSupported, fmt.Sprintf("Setting property '%s' is not supported by flint.", name))
				return
			}
			props, err := s.backend.Properties(call.Path, n)
			if err != nil {
				call.Fail(ErrUnknownObject, err.Error())
				return
			}
			v, _ := typed(n, props).get(name)
			call.Reply(v)
			return
		}
		call.Fail(ErrUnknownProperty, fmt.Sprintf("Unknown property or interface %s.%s.", iface, name))
	}
}

const introspectHeader = `<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"
"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">
<node>
 <interface name="org.freedesktop.DBus.Peer">
  <method name="Ping"/>
  <method name="GetMachineId">
   <arg type="s" name="machine_uuid" direction="out"/>
  </method>
 </interface>
 <interface name="org.freedesktop.DBus.Introspectable">
  <method name="Introspect">
   <arg name="xml_data" type="s" direction="out"/>
  </method>
 </interface>
 <interface name="org.freedesktop.DBus.Properties">
  <method name="Get">
   <arg name="interface_name" direction="in" type="s"/>
   <arg name="property_name" direction="in" type="s"/>
   <arg name="value" direction="out" type="v"/>
  </method>
  <method name="GetAll">
   <arg name="interface_name" direction="in" type="s"/>
   <arg name="props" direction="out" type="a{sv}"/>
  </method>
  <method name="Set">
   <arg name="interface_name" direction="in" type="s"/>
   <arg name="property_name" direction="in" type="s"/>
   <arg name="value" direction="in" type="v"/>
  </method>
  <signal name="PropertiesChanged">
   <arg type="s" name="interface_name"/>
   <arg type="a{sv}" name="changed_properties"/>
   <arg type="as" name="invalidated_properties"/>
  </signal>
 </interface>
`

// introspect is the object's introspection XML: the standard interfaces, the systemd1
// interfaces with the methods the backend implements, their signals and properties, and the
// child nodes.
func (s *Server) introspect(path dbus.ObjectPath) string {
	ifaces, children, _ := s.backend.Object(path)
	var b strings.Builder
	b.WriteString(introspectHeader)
	for _, n := range ifaces {
		it := interfaces()[n]
		if it == nil {
			continue
		}
		fmt.Fprintf(&b, " <interface name=%q>\n", n)
		names := make([]string, 0, len(it.Methods))
		for m := range it.Methods {
			if s.backend.Supported(n, m) {
				names = append(names, m)
			}
		}
		slices.Sort(names)
		for _, mn := range names {
			m := it.Methods[mn]
			fmt.Fprintf(&b, "  <method name=%q>\n", mn)
			for _, t := range splitTypes(m.In) {
				fmt.Fprintf(&b, "   <arg type=\"%s\" direction=\"in\"/>\n", html.EscapeString(t))
			}
			for _, t := range splitTypes(m.Out) {
				fmt.Fprintf(&b, "   <arg type=\"%s\" direction=\"out\"/>\n", html.EscapeString(t))
			}
			b.WriteString("  </method>\n")
		}
		for _, sg := range it.Signals {
			fmt.Fprintf(&b, "  <signal name=%q>\n", sg.Name)
			for _, t := range splitTypes(sg.Sig) {
				fmt.Fprintf(&b, "   <arg type=\"%s\"/>\n", html.EscapeString(t))
			}
			b.WriteString("  </signal>\n")
		}
		for _, p := range it.Props {
			access := "read"
			if p.Write {
				access = "readwrite"
			}
			fmt.Fprintf(&b, "  <property name=%q type=\"%s\" access=%q>\n", p.Name, html.EscapeString(p.Type), access)
			if p.Emits != "true" {
				fmt.Fprintf(&b, "   <annotation name=\"org.freedesktop.DBus.Property.EmitsChangedSignal\" value=%q/>\n", p.Emits)
			}
			b.WriteString("  </property>\n")
		}
		b.WriteString(" </interface>\n")
	}
	for _, c := range children {
		fmt.Fprintf(&b, " <node name=%q/>\n", c)
	}
	b.WriteString("</node>\n")
	return b.String()
}

// splitTypes splits a signature into its complete types.
func splitTypes(sig string) []string {
	var out []string
	for sig != "" {
		_, rest, err := typeOfPrefix(sig)
		if err != nil {
			return append(out, sig)
		}
		out = append(out, sig[:len(sig)-len(rest)])
		sig = rest
	}
	return out
}

// EmitPropertiesChanged sends PropertiesChanged for iface of the object at path: the given
// properties whose changes systemd signals with their value ("true"), the names of those it
// signals as invalidated ("invalidates").
func (s *Server) EmitPropertiesChanged(path dbus.ObjectPath, iface string, props []Prop) {
	it := interfaces()[iface]
	if it == nil {
		return
	}
	changed := dict{}
	invalidated := []string{}
	for _, e := range typed(iface, props) {
		p, _ := it.Prop(e.K)
		switch p.Emits {
		case "true":
			changed = append(changed, e)
		case "invalidates":
			invalidated = append(invalidated, p.Name)
		}
	}
	s.emit(path, ifaceProps, "PropertiesChanged", "sa{sv}as", iface, changed, invalidated)
}
