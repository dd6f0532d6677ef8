package logs

import "strconv"

// Output is how the lines of a service's standard output and error are recorded, as
// journald records a stdout stream whose header systemd wrote from the unit's
// SyslogFacility=, SyslogLevel=, SyslogLevelPrefix=, LogLevelMax= and LogExtraFields=.
type Output struct {
	// Priority is the facility and level of a line without a "<N>" prefix
	// (facility << 3 | level; LOG_DAEMON|LOG_INFO by default).
	Priority int
	// NoLevelPrefix: a leading "<N>" is text, not the line's level (SyslogLevelPrefix=no).
	NoLevelPrefix bool
	// MaxLevel drops the lines whose level is above it (LogLevelMax=); -1: none dropped.
	MaxLevel int
	// Rate is the unit's LogRateLimitIntervalSec=/LogRateLimitBurst= (ratelimit.go), with
	// DefaultRateLimit's for what the unit leaves unset; zero: no limit.
	Rate RateLimit
	// fields are SYSLOG_FACILITY= and the extra fields, shared by every line.
	fields []Field
}

// NewOutput returns the Output of the settings: facility and level (SyslogFacility=,
// SyslogLevel=), whether "<N>" prefixes are parsed, the maximum level (-1: none) and the
// extra fields, each "NAME=value".
func NewOutput(facility, level int, levelPrefix bool, maxLevel int, extra []string) *Output {
	o := &Output{Priority: facility<<3 | level, NoLevelPrefix: !levelPrefix, MaxLevel: maxLevel, Rate: DefaultRateLimit}
	o.fields = append(o.fields, Field{Name: "SYSLOG_FACILITY", Value: strconv.Itoa(facility)})
	for _, kv := range extra {
		for i := 0; i < len(kv); i++ {
			if kv[i] == '=' {
				o.fields = append(o.fields, Field{Name: kv[:i], Value: kv[i+1:]})
				break
			}
		}
	}
	return o
}

// RateLimit is o's Rate (DefaultRateLimit for a nil Output: every setting systemd's default).
func (o *Output) RateLimit() RateLimit {
	if o == nil {
		return DefaultRateLimit
	}
	return o.Rate
}

// Fields are the journal fields every line of the stream carries besides PRIORITY= and
// MESSAGE=: SYSLOG_FACILITY= (0 for kern, which journald leaves out of the entry), then the
// extra fields. Do not change them.
func (o *Output) Fields() []Field { return o.fields }

// line is the level and text of one line of the stream, and false when LogLevelMax= drops it.
func (o *Output) line(b []byte) (int, []byte, bool) {
	prio, text := o.Priority, b
	if !o.NoLevelPrefix {
		prio, text = parseLevelPrefix(b, prio)
	}
	level := prio & 7
	if o.MaxLevel >= 0 && level > o.MaxLevel {
		return level, nil, false
	}
	return level, text, true
}

// parseLevelPrefix splits a leading "<N>" off line, as journald's syslog_parse_priority does
// for a stdout stream: one to three decimal digits whose value is a level 0-7 (no facility);
// the level replaces prio's, the facility stays. Anything else is text.
func parseLevelPrefix(line []byte, prio int) (int, []byte) {
	if len(line) < 3 || line[0] != '<' {
		return prio, line
	}
	end := -1
	for i := 1; i < len(line) && i <= 4; i++ {
		if line[i] == '>' {
			end = i
			break
		}
	}
	if end < 2 {
		return prio, line
	}
	v := 0
	for _, c := range line[1:end] {
		if c < '0' || c > '9' {
			return prio, line
		}
		v = v*10 + int(c-'0')
	}
	if v > 7 {
		return prio, line
	}
	return prio&^7 | v, line[end+1:]
}

// Entry is what journald makes of an entry at level with fields that a process of the unit
// sent through its sockets: false when LogLevelMax= drops it, else the fields followed by
// LogExtraFields=. A nil Output keeps every entry as it came.
//
// A caller also applies RateLimit with Store.Admit.
func (o *Output) Entry(level int, fields []Field) ([]Field, bool) {
	if o == nil {
		return fields, true
	}
	if o.MaxLevel >= 0 && level > o.MaxLevel {
		return nil, false
	}
	if len(o.fields) <= 1 {
		return fields, true
	}
	return append(fields[:len(fields):len(fields)], o.fields[1:]...), true
}
