package calendar

import (
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Time zones and leap seconds as systemd sees them through glibc: tzname[], zone files, and
// the leap second table of a "right/" zone.

// calTZNames is glibc's tzname[] for loc as systemd sees it after localtime(3) of now: the
// abbreviation in use at now, and the first one of the other kind (daylight saving time or
// not) in use after it; with no such other one, the one in use at now for both.
func calTZNames(loc *time.Location, now time.Time) [2]string {
	var names [2]string
	var have [2]bool
	t := now.In(loc)
	for i := 0; i < 2000; i++ {
		n, _ := t.Zone()
		d := b2i(t.IsDST())
		if !have[d] {
			names[d], have[d] = n, true
		}
		if have[0] && have[1] {
			break
		}
		_, end := t.ZoneBounds()
		if end.IsZero() {
			break
		}
		t = end
	}
	if !have[0] {
		names[0] = names[1]
	}
	if !have[1] {
		names[1] = names[0]
	}
	return names
}

const calZoneDir = "/usr/share/zoneinfo/"

var calZones sync.Map // name → *time.Location

// calLoadZone is timezone_is_valid() (a name of letters, digits, '-', '_', '+' and single
// inner slashes, naming a regular TZif file under /usr/share/zoneinfo) followed by
// time.LoadLocation; nil when systemd would not take name as a time zone.
func calLoadZone(name string) *time.Location {
	if name == "" {
		return nil
	}
	if l, ok := calZones.Load(name); ok {
		return l.(*time.Location)
	}
	if name == "UTC" {
		return time.UTC
	}
	if name[0] == '/' || len(name) >= 4096 {
		return nil
	}
	slash := false
	for i := 0; i < len(name); i++ {
		b := name[i]
		if !calIsDigit(b) && !('a' <= b && b <= 'z') && !('A' <= b && b <= 'Z') &&
			b != '-' && b != '_' && b != '+' && b != '/' {
			return nil
		}
		if b == '/' && slash {
			return nil
		}
		slash = b == '/'
	}
	if slash {
		return nil
	}
	f, err := os.Open(calZoneDir + name)
	if err != nil {
		return nil
	}
	defer f.Close()
	var magic [4]byte
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil
	}
	if _, err := io.ReadFull(f, magic[:]); err != nil || string(magic[:]) != "TZif" {
		return nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil { // $ZONEINFO points elsewhere, say: load the file systemd checked
		data, err := os.ReadFile(calZoneDir + name)
		if err != nil {
			return nil
		}
		if loc, err = time.LoadLocationFromTZData(name, data); err != nil {
			return nil
		}
	}
	calZones.Store(name, loc)
	return loc
}

// calLeaps is the leap second table of a "right/" zone: from each time on (in its time scale,
// which counts the leap seconds) the number of leap seconds before it.
type calLeaps []struct{ at, corr int64 }

// at is the correction the zone file's leap records give for t, and whether t is itself a
// leap second (then shown as second 60).
func (l calLeaps) at(t int64) (corr int64, hit int) {
	i := len(l) - 1
	for i >= 0 && t < l[i].at {
		i--
	}
	if i < 0 {
		return 0, 0
	}
	corr = l[i].corr
	if t == l[i].at && ((i == 0 && l[i].corr > 0) || (i > 0 && l[i].corr > l[i-1].corr)) {
		hit = 1
		for i > 0 && l[i].at == l[i-1].at+1 && l[i].corr == l[i-1].corr+1 {
			hit++
			i--
		}
	}
	return corr, hit
}

var calLeapTables sync.Map // *time.Location → calLeaps

// calLeapsOf is the leap second table of loc, which the time package ignores: read from the
// zone's file (for time.Local, the one $TZ or /etc/localtime names). Only "right/" zones
// have one.
func calLeapsOf(loc *time.Location) calLeaps {
	if l, ok := calLeapTables.Load(loc); ok {
		return l.(calLeaps)
	}
	var file string
	switch name := loc.String(); {
	case loc == time.UTC:
	case loc == time.Local:
		tz, set := os.LookupEnv("TZ")
		tz = strings.TrimPrefix(tz, ":")
		switch {
		case !set:
			file = "/etc/localtime"
		case strings.HasPrefix(tz, "/"):
			file = tz
		case tz != "":
			file = calZoneDir + tz
		}
	case name != "" && !strings.Contains(name, ".."):
		file = calZoneDir + name
	}
	var leaps calLeaps
	if file != "" {
		if data, err := os.ReadFile(file); err == nil {
			leaps = calReadLeaps(data)
		}
	}
	calLeapTables.Store(loc, leaps)
	return leaps
}

// calReadLeaps reads the leap second records of a TZif file (RFC 8536), of its 64-bit part
// where it has one, as glibc does.
func calReadLeaps(data []byte) calLeaps {
	be := func(b []byte) int64 {
		var v int64
		for _, x := range b {
			v = v<<8 | int64(x)
		}
		return v
	}
	type counts struct{ isut, isstd, leap, time, typ, char int64 }
	header := func(d []byte) (counts, bool) {
		if len(d) < 44 || string(d[:4]) != "TZif" {
			return counts{}, false
		}
		return counts{be(d[20:24]), be(d[24:28]), be(d[28:32]), be(d[32:36]), be(d[36:40]), be(d[40:44])}, true
	}
	n, ok := header(data)
	if !ok {
		return nil
	}
	timeSize := int64(4)
	if data[4] >= '2' { // skip the 32-bit part
		v1 := 44 + n.time*5 + n.typ*6 + n.char + n.leap*8 + n.isstd + n.isut
		if v1 > int64(len(data)) {
			return nil
		}
		data = data[v1:]
		if n, ok = header(data); !ok {
			return nil
		}
		timeSize = 8
	}
	start, rec := 44+n.time*(timeSize+1)+n.typ*6+n.char, timeSize+4
	if n.leap <= 0 || start+n.leap*rec > int64(len(data)) {
		return nil
	}
	leaps := make(calLeaps, n.leap)
	for i := range leaps {
		r := data[start+int64(i)*rec:]
		at := be(r[:timeSize])
		if timeSize == 4 {
			at = int64(int32(at))
		}
		leaps[i].at, leaps[i].corr = at, int64(int32(be(r[timeSize:rec])))
	}
	return leaps
}
