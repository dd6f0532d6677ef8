package unit

import (
	"reflect"
	"testing"
	"time"
)

func TestDecodeResourceControl(t *testing.T) {
	tests := []struct {
		name  string
		lines string
		check func(e *ExecContext) bool
	}{
		{"memory", "MemoryMax=200M\nMemoryHigh=infinity\nMemoryLow=1K\nMemorySwapMax=0\n", func(e *ExecContext) bool {
			return e.MemoryMax == 200<<20 && e.MemoryHigh == Infinity && e.MemoryLow == 1024 && e.MemorySwapMax == 1
		}},
		{"memory percent", "MemoryMax=50%\n", func(e *ExecContext) bool {
			return e.MemoryMax > 0 && e.MemoryMax == physicalMemory()/2
		}},
		{"bad memory ignored", "MemoryMax=100M\nMemoryMax=bogus\n", func(e *ExecContext) bool { return e.MemoryMax == 100<<20 }},
		{"empty resets", "MemoryMax=100M\nMemoryMax=\n", func(e *ExecContext) bool { return e.MemoryMax == 0 }},
		{"tasks", "TasksMax=16\n", func(e *ExecContext) bool { return e.TasksMax == 16 }},
		{"tasks infinity", "TasksMax=infinity\n", func(e *ExecContext) bool { return e.TasksMax == Infinity }},
		{"cpu", "CPUQuota=20%\nCPUQuotaPeriodSec=10ms\nCPUWeight=50\nAllowedCPUs=0 1-2\n", func(e *ExecContext) bool {
			return e.CPUQuotaPerSec == 200*time.Millisecond && e.CPUQuotaPeriod == 10*time.Millisecond && e.CPUWeight == 50 && e.AllowedCPUs == "0,1-2"
		}},
		{"cpu quota above one cpu", "CPUQuota=150%\n", func(e *ExecContext) bool { return e.CPUQuotaPerSec == 1500*time.Millisecond }},
		{"io", "IOWeight=30\nIODeviceWeight=/dev/sda 200\nIOReadBandwidthMax=/var 1M\nIOWriteIOPSMax=/var 10K\n", func(e *ExecContext) bool {
			return e.IOWeight == 30 && reflect.DeepEqual(e.IODeviceWeight, []DeviceValue{{"/dev/sda", 200}}) &&
				reflect.DeepEqual(e.IOReadBandwidthMax, []DeviceValue{{"/var", 1000000}}) &&
				reflect.DeepEqual(e.IOWriteIOPSMax, []DeviceValue{{"/var", 10000}})
		}},
		{"slice and delegation", "Slice=a-b.slice\nDelegate=cpu memory\nDisableControllers=io\nMemoryAccounting=no\n", func(e *ExecContext) bool {
			return e.Slice == "a-b.slice" && e.Delegate && reflect.DeepEqual(e.DelegateControllers, []string{"cpu", "memory"}) &&
				reflect.DeepEqual(e.DisableControllers, []string{"io"}) && e.MemoryAccounting != nil && !*e.MemoryAccounting
		}},
		{"bad slice ignored", "Slice=foo.service\n", func(e *ExecContext) bool { return e.Slice == "" }},
		{"deprecated still applied", "CPUShares=2048\nMemoryLimit=1G\n", func(e *ExecContext) bool {
			return e.CPUShares == 2048 && e.MemoryLimit == 1<<30
		}},
		{"bpf filter path not enforced", "IPIngressFilterPath=/sys/fs/bpf/x\n", func(e *ExecContext) bool {
			return reflect.DeepEqual(e.NotEnforced, []string{"IPIngressFilterPath"})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, diags := decodeText(t, "foo.service", "[Service]\nExecStart=/bin/true\n"+tc.lines)
			if !tc.check(u.Service.Exec) {
				t.Errorf("got %+v\ndiags %v", u.Service.Exec, msgs(diags))
			}
		})
	}
	u, _ := decodeText(t, "foo.socket", "[Socket]\nListenStream=1\nMemoryMax=1M\nSlice=x.slice\n")
	if u.Socket.Exec.MemoryMax != 1<<20 || u.Socket.Exec.Slice != "x.slice" {
		t.Errorf("socket: %+v", u.Socket.Exec)
	}
}
