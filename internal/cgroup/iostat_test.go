package cgroup

import "testing"

func TestIOStats(t *testing.T) {
	v2 := fakeFS(t, map[string][]string{"g": {"io.stat=8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n254:0 rbytes=100 wbytes=0 rios=3 wios=0 dbytes=0 dios=0\n"},
		"empty": {"io.stat="}})
	var s Stats
	s.readIOStat(v2 + "/g/io.stat")
	if !s.HasIO || s.IOReadBytes != 4196 || s.IOWriteBytes != 8192 || s.IOReadOps != 4 || s.IOWriteOps != 2 {
		t.Errorf("io.stat: %+v", s)
	}
	s = Stats{}
	s.readIOStat(v2 + "/empty/io.stat")
	if !s.HasIO || s.IOReadBytes != 0 {
		t.Errorf("empty io.stat: %+v", s)
	}
	v1 := fakeFS(t, map[string][]string{
		"rec": {"blkio.throttle.io_service_bytes_recursive=254:0 Read 4096\n254:0 Write 512\n254:0 Sync 4608\n254:0 Async 0\n254:0 Total 4608\n8:0 Read 4\nTotal 4612\n",
			"blkio.throttle.io_serviced_recursive=254:0 Read 2\n254:0 Write 1\n254:0 Total 3\nTotal 3\n",
			"blkio.throttle.io_service_bytes=254:0 Read 1\n"},
		"plain": {"blkio.throttle.io_service_bytes=Total 0\n", "blkio.throttle.io_serviced=Total 0\n"},
		"none":  {"tasks="},
	})
	s = Stats{}
	s.readBlkio(v1 + "/rec")
	if !s.HasIO || s.IOReadBytes != 4100 || s.IOWriteBytes != 512 || s.IOReadOps != 2 || s.IOWriteOps != 1 {
		t.Errorf("v1 recursive: %+v", s)
	}
	s = Stats{}
	s.readBlkio(v1 + "/plain")
	if !s.HasIO || s.IOReadBytes != 0 {
		t.Errorf("v1 plain: %+v", s)
	}
	s = Stats{}
	s.readBlkio(v1 + "/none")
	if s.HasIO {
		t.Errorf("v1 without the files: %+v", s)
	}
}
