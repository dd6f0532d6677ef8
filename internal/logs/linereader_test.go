package logs

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"
)

// chunkReader returns data in reads of the given sizes (cycled), as a pipe delivers writes.
type chunkReader struct {
	data  []byte
	sizes []int
	i     int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := len(c.data)
	if len(c.sizes) > 0 {
		n = min(n, max(1, c.sizes[c.i%len(c.sizes)]))
		c.i++
	}
	n = copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

type piece struct {
	text string
	err  error
}

func pieces(next func() ([]byte, error)) []piece {
	var out []piece
	for {
		b, err := next()
		out = append(out, piece{string(b), err})
		if err != nil && err != bufio.ErrBufferFull {
			return out
		}
	}
}

// checkLineReader compares lineReader with bufio.Reader.ReadSlice('\n') on a
// MaxLineBytes buffer, the reader it replaces.
func checkLineReader(t *testing.T, data []byte, sizes []int) {
	t.Helper()
	br := bufio.NewReaderSize(&chunkReader{data: data, sizes: sizes}, MaxLineBytes)
	want := pieces(func() ([]byte, error) { return br.ReadSlice('\n') })
	lr := &lineReader{r: &chunkReader{data: data, sizes: sizes}}
	got := pieces(lr.ReadSlice)
	if len(got) != len(want) {
		t.Fatalf("%d pieces, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("piece %d: %q %v, want %q %v", i, trunc(got[i].text), got[i].err, trunc(want[i].text), want[i].err)
		}
	}
}

func trunc(s string) string {
	if len(s) > 40 {
		return s[:20] + "..." + s[len(s)-20:]
	}
	return s
}

func TestLineReader(t *testing.T) {
	long := strings.Repeat("x", MaxLineBytes)
	for _, tc := range []struct {
		name  string
		data  string
		sizes []int
	}{
		{"empty", "", nil},
		{"one line", "hello\n", nil},
		{"no final newline", "a\nb", nil},
		{"empty lines", "\n\n\n", []int{1}},
		{"byte by byte", "first line\nsecond\n", []int{1}},
		{"grows past the first buffer", strings.Repeat("y", 3*lineReaderStart) + "\nend\n", []int{100}},
		{"exactly the maximum", long + "\n", []int{4096}},
		{"longer than the maximum", long + "zz\nnext\n", []int{7000}},
		{"two maximum pieces", long + long + "\n", nil},
		{"many short lines across reads", strings.Repeat("line\n", 1000), []int{3, 17, 512}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkLineReader(t, []byte(tc.data), tc.sizes) })
	}
}

func FuzzLineReader(f *testing.F) {
	f.Add([]byte("a\nbb\n\nccc"), uint8(1), uint8(3))
	f.Add(bytes.Repeat([]byte("z"), 2000), uint8(255), uint8(7))
	f.Fuzz(func(t *testing.T, data []byte, s1, s2 uint8) {
		// Long lines without making every input huge: a leading 0xff byte repeats the rest.
		if len(data) > 0 && data[0] == 0xff {
			data = bytes.Repeat(data[1:], MaxLineBytes/max(1, len(data))+2)
		}
		checkLineReader(t, data, []int{int(s1)*37 + 1, int(s2)*257 + 1})
	})
}
