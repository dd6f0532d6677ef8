package unit

import "fmt"

// LoadTransient builds the unit name from unit-file text written to path, as systemd loads a
// transient unit (StartTransientUnit) from the file it wrote to its transient directory: the
// search path's drop-ins for the name do not apply, the implicit and default dependencies
// are added. The loader does not keep the unit (a daemon-reload leaves a transient unit as
// it is; the manager holds it).
func (l *Loader) LoadTransient(name, path string, text []byte) *Unit {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.scan()
	u := &Unit{Name: name, Names: []string{name}, FragmentPath: path}
	u.initShared()
	prefix, inst, sfx, err := ParseName(name)
	if err != nil || IsTemplate(name) {
		u.setLoadState(LoadError)
		u.setLoadError(fmt.Sprintf("Unit name %s is not valid.", name))
		return u
	}
	u.Type, u.Prefix = Type(sfx), prefix
	u.SetInstance(inst, "")
	f, diags := ParseFile(path, text)
	u.addDiagnostics(diags...)
	u.fragmentMtime = mtime(path)
	if fatal := firstError(diags); fatal != nil {
		u.setLoadState(LoadError)
		u.setLoadError(fatal.String())
		return u
	}
	u.setLoadState(Loaded)
	for _, d := range Decode(u, []*File{f}, l.Expander(u)) {
		if d.Severity == Error && u.LoadState == Loaded {
			u.setLoadState(BadSetting)
			u.setLoadError(d.String())
		}
	}
	if prev := l.units[name]; prev != nil {
		l.forget(prev, name)
	}
	l.units[name] = u
	l.finish(u)
	l.forget(u, name)
	return u
}
