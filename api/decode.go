package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ReadRequest reads and decodes one request line (at most MaxRequestSize bytes; the final
// newline may be missing at EOF). Every failure is an error beginning "bad request:".
func ReadRequest(br *bufio.Reader) (*Request, error) { return ReadRequestMax(br, MaxRequestSize) }

// ReadRequestMax is ReadRequest with a line of at most max bytes.
func ReadRequestMax(br *bufio.Reader, max int) (*Request, error) {
	line, err := readLine(br, max)
	if err != nil {
		return nil, fmt.Errorf("bad request: %w", err)
	}
	if len(bytes.TrimSpace(line)) == 0 {
		return nil, errors.New("bad request: empty request")
	}
	var req Request
	if err := json.Unmarshal(line, &req); err != nil {
		return nil, fmt.Errorf("bad request: %w", err)
	}
	if req.Verb == "" {
		return nil, errors.New("bad request: no verb")
	}
	if req.Lines < -1 {
		return nil, fmt.Errorf("bad request: lines %d", req.Lines)
	}
	if req.Range != nil && req.Range.Lines < -1 {
		return nil, fmt.Errorf("bad request: range lines %d", req.Range.Lines)
	}
	if req.Match != nil && (req.Match.Priorities < 0 || req.Match.Priorities > 0xff) {
		return nil, fmt.Errorf("bad request: priorities %d", req.Match.Priorities)
	}
	return &req, nil
}

func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > max {
			return nil, fmt.Errorf("request larger than %d bytes", max)
		}
		if err == nil {
			return buf, nil
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if errors.Is(err, io.EOF) && len(buf) > 0 {
			return buf, nil
		}
		return nil, err
	}
}
