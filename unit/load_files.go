package unit

import "os"

// SourceFiles parses again the files a loaded unit was read from: its fragment, then its
// drop-ins in the order they were applied. It serves tools that need the directives as
// written, with their file and line (`analyze security` reads settings flint keeps only
// as text, `analyze verify` names each directive flint does not enforce). A file that
// cannot be read now is left out; the syntax diagnostics were reported when the unit
// was loaded and are not repeated.
func (l *Loader) SourceFiles(u *Unit) []*File {
	var out []*File
	paths := u.DropInPaths
	if u.FragmentPath != "" {
		paths = append([]string{u.FragmentPath}, paths...)
	}
	for _, p := range paths {
		data, err := os.ReadFile(l.lk.InTree(p))
		if err != nil {
			continue
		}
		f, _ := ParseFile(p, data)
		out = append(out, f)
	}
	return out
}
