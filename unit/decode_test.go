package unit

import (
	"fmt"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

// decodeText parses content as the fragment of unit name and decodes it, with drop-ins.
func decodeText(t *testing.T, name, content string, dropins ...string) (*Unit, []Diagnostic) {
	t.Helper()
	u := newTestUnit(name)
	u.FragmentPath = "/etc/systemd/system/" + name
	u.setLoadState(Loaded)
	f, diags := ParseFile(u.FragmentPath, []byte(content))
	files := []*File{f}
	for i, d := range dropins {
		df, dd := ParseFile(u.FragmentPath+".d/"+string(rune('a'+i))+".conf", []byte(d))
		diags = append(diags, dd...)
		files = append(files, df)
	}
	diags = append(diags, Decode(u, files, simpleExpander)...)
	return u, diags
}

func msgs(diags []Diagnostic) string {
	var l []string
	for _, d := range diags {
		l = append(l, d.String())
	}
	return strings.Join(l, "\n")
}

const svc = "[Service]\nExecStart=/bin/true\n"

func TestDecodeServiceFields(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content string
		check   func(s *ServiceSection) bool
	}{
		{"type-default-simple", svc, func(s *ServiceSection) bool { return s.Type == Simple }},
		{"type-default-oneshot", "[Service]\nExecStop=/bin/true\nRemainAfterExit=yes\n", func(s *ServiceSection) bool { return s.Type == Oneshot && s.TimeoutStartSec == 0 }},
		{"type-dbus-from-busname", svc + "BusName=org.example.Foo\n", func(s *ServiceSection) bool { return s.Type == DBus }},
		{"type-notify", svc + "Type=notify\n", func(s *ServiceSection) bool { return s.Type == Notify && s.NotifyAccess == "main" }},
		{"type-bad-ignored", svc + "Type=simple\nType=bogus\n", func(s *ServiceSection) bool { return s.Type == Simple }},
		{"notify-access-default", svc, func(s *ServiceSection) bool { return s.NotifyAccess == "none" }},
		{"notify-access-watchdog", svc + "WatchdogSec=5\n", func(s *ServiceSection) bool { return s.NotifyAccess == "main" && s.WatchdogSec == 5*time.Second }},
		{"notify-access-explicit", svc + "Type=notify\nNotifyAccess=all\n", func(s *ServiceSection) bool { return s.NotifyAccess == "all" }},
		{"timeouts-default", svc, func(s *ServiceSection) bool {
			return s.TimeoutStartSec == 90*time.Second && s.TimeoutStopSec == 90*time.Second && s.TimeoutAbortSec == 90*time.Second && s.RestartSec == 100*time.Millisecond
		}},
		{"timeout-sec-both", svc + "TimeoutSec=5\n", func(s *ServiceSection) bool {
			return s.TimeoutStartSec == 5*time.Second && s.TimeoutStopSec == 5*time.Second
		}},
		{"timeout-start-infinity", svc + "TimeoutStartSec=infinity\n", func(s *ServiceSection) bool { return s.TimeoutStartSec == 0 }},
		{"timeout-start-zero", svc + "TimeoutStartSec=0\n", func(s *ServiceSection) bool { return s.TimeoutStartSec == 0 }},
		{"oneshot-explicit-timeout", "[Service]\nType=oneshot\nExecStart=/bin/true\nTimeoutStartSec=7\n", func(s *ServiceSection) bool { return s.TimeoutStartSec == 7*time.Second }},
		{"timeout-abort", svc + "TimeoutStopSec=3\nTimeoutAbortSec=9\n", func(s *ServiceSection) bool { return s.TimeoutAbortSec == 9*time.Second }},
		{"timeout-abort-follows-stop", svc + "TimeoutStopSec=3\n", func(s *ServiceSection) bool { return s.TimeoutAbortSec == 3*time.Second }},
		{"restart", svc + "Restart=on-failure\nRestartSec=2min 200ms\n", func(s *ServiceSection) bool {
			return s.Restart == "on-failure" && s.RestartSec == 2*time.Minute+200*time.Millisecond
		}},
		{"restart-bad-ignored", svc + "Restart=sometimes\n", func(s *ServiceSection) bool { return s.Restart == "no" }},
		{"exec-repeat-appends", "[Service]\nType=oneshot\nExecStart=/bin/a\nExecStart=/bin/b\n", func(s *ServiceSection) bool { return len(s.ExecStart) == 2 }},
		{"exec-empty-resets", "[Service]\nExecStart=/bin/a\nExecStart=\nExecStart=/bin/b\n", func(s *ServiceSection) bool {
			return len(s.ExecStart) == 1 && s.ExecStart[0].Path == "/bin/b"
		}},
		{"exec-pos", svc, func(s *ServiceSection) bool {
			return s.ExecStart[0].Pos.String() == "/etc/systemd/system/foo.service:2"
		}},
		{"exec-other", svc + "ExecStartPre=-/bin/pre\nExecStartPost=/bin/post\nExecReload=/bin/kill -HUP $MAINPID\nExecStop=/bin/stop\nExecStopPost=/bin/stoppost\nExecCondition=/bin/cond\n",
			func(s *ServiceSection) bool {
				return len(s.ExecStartPre) == 1 && s.ExecStartPre[0].Flags.IgnoreFailure && len(s.ExecStartPost) == 1 &&
					reflect.DeepEqual(s.ExecReload[0].Argv, []string{"/bin/kill", "-HUP", "$MAINPID"}) && len(s.ExecStop) == 1 && len(s.ExecStopPost) == 1 && len(s.ExecCondition) == 1
			}},
		{"pidfile-relative", svc + "PIDFile=foo.pid\n", func(s *ServiceSection) bool { return s.PIDFile == "/run/foo.pid" }},
		{"pidfile-var-run", svc + "PIDFile=/var/run/foo.pid\n", func(s *ServiceSection) bool { return s.PIDFile == "/run/foo.pid" }},
		{"remain-after-exit", svc + "RemainAfterExit=yes\n", func(s *ServiceSection) bool { return s.RemainAfterExit }},
		{"guess-main-pid", svc + "GuessMainPID=no\n", func(s *ServiceSection) bool { return !s.GuessMainPID }},
		{"success-exit-status", svc + "SuccessExitStatus=1 2 SIGKILL\nSuccessExitStatus=3\n", func(s *ServiceSection) bool {
			return reflect.DeepEqual(s.SuccessExitStatus.Codes, []int{1, 2, 3}) && reflect.DeepEqual(s.SuccessExitStatus.Signals, []syscall.Signal{syscall.SIGKILL})
		}},
		{"success-exit-status-reset", svc + "SuccessExitStatus=1\nSuccessExitStatus=\n", func(s *ServiceSection) bool { return len(s.SuccessExitStatus.Codes) == 0 }},
		{"restart-prevent", svc + "RestartPreventExitStatus=255 SIGTERM\n", func(s *ServiceSection) bool {
			return reflect.DeepEqual(s.RestartPreventExitStatus.Codes, []int{255}) && len(s.RestartPreventExitStatus.Signals) == 1
		}},
		{"sockets", svc + "Sockets=a.socket b.socket\nSockets=a.socket bad.service\n", func(s *ServiceSection) bool { return reflect.DeepEqual(s.Sockets, []string{"a.socket", "b.socket"}) }},
		{"fdstore", svc + "FileDescriptorStoreMax=4\n", func(s *ServiceSection) bool { return s.FileDescriptorStoreMax == 4 && s.NotifyAccess == "none" }},
		{"notify-forces-main", svc + "Type=notify\nNotifyAccess=none\n", func(s *ServiceSection) bool { return s.NotifyAccess == "main" }},
		{"runtime-max", svc + "RuntimeMaxSec=1h\n", func(s *ServiceSection) bool { return s.RuntimeMaxSec == time.Hour }},
		{"runtime-max-default-infinity", svc, func(s *ServiceSection) bool { return s.RuntimeMaxSec == DurationInfinity && s.WatchdogSec == 0 }},
		{"runtime-max-zero", svc + "RuntimeMaxSec=0\n", func(s *ServiceSection) bool { return s.RuntimeMaxSec == 0 }},
		{"runtime-max-infinity", svc + "RuntimeMaxSec=5\nRuntimeMaxSec=infinity\n", func(s *ServiceSection) bool { return s.RuntimeMaxSec == DurationInfinity }},
		{"timeout-abort-zero", svc + "TimeoutAbortSec=0\n", func(s *ServiceSection) bool { return s.TimeoutAbortSec == 0 }},
		{"timeout-abort-infinity", svc + "TimeoutStopSec=3\nTimeoutAbortSec=infinity\n", func(s *ServiceSection) bool { return s.TimeoutAbortSec == DurationInfinity }},
		{"timeout-abort-follows-stop-infinity", svc + "TimeoutStopSec=0\n", func(s *ServiceSection) bool { return s.TimeoutStopSec == 0 && s.TimeoutAbortSec == DurationInfinity }},
		{"watchdog-infinity", svc + "WatchdogSec=infinity\n", func(s *ServiceSection) bool { return s.WatchdogSec == DurationInfinity && s.NotifyAccess == "main" }},
		{"watchdog-zero-off", svc + "WatchdogSec=0\n", func(s *ServiceSection) bool { return s.WatchdogSec == 0 && s.NotifyAccess == "none" }},
		{"oom-policy", svc + "OOMPolicy=kill\n", func(s *ServiceSection) bool { return s.OOMPolicy == "kill" }},
		{"oom-policy-default", svc, func(s *ServiceSection) bool { return s.OOMPolicy == "stop" }},
		{"oom-policy-delegate", svc + "Delegate=yes\n", func(s *ServiceSection) bool { return s.OOMPolicy == "continue" }},
		{"oom-policy-delegate-empty", svc + "Delegate=\n", func(s *ServiceSection) bool { return s.OOMPolicy == "continue" }},
		{"oom-policy-delegate-controllers", svc + "Delegate=cpu memory\n", func(s *ServiceSection) bool { return s.OOMPolicy == "continue" }},
		{"oom-policy-delegate-off", svc + "Delegate=yes\nDelegate=no\n", func(s *ServiceSection) bool { return s.OOMPolicy == "stop" }},
		{"oom-policy-delegate-explicit", svc + "Delegate=yes\nOOMPolicy=kill\n", func(s *ServiceSection) bool { return s.OOMPolicy == "kill" }},
		{"exit-type", svc + "ExitType=cgroup\n", func(s *ServiceSection) bool { return s.ExitType == "cgroup" }},
		{"failure-modes", svc + "TimeoutStartFailureMode=abort\nTimeoutStopFailureMode=kill\n", func(s *ServiceSection) bool {
			return s.TimeoutStartFailureMode == "abort" && s.TimeoutStopFailureMode == "kill"
		}},
		{"stdout-default", svc, func(s *ServiceSection) bool {
			return s.Exec.StandardInput == "null" && s.Exec.StandardOutput == "journal" && s.Exec.StandardError == "inherit"
		}},
		{"stdout-inherit-to-journal", svc + "StandardOutput=inherit\n", func(s *ServiceSection) bool { return s.Exec.StandardOutput == "journal" }},
		{"stdin-tty-default-inherit", svc + "StandardInput=tty\n", func(s *ServiceSection) bool { return s.Exec.StandardOutput == "inherit" }},
		{"stdin-fd-default-inherit", svc + "StandardInput=fd:foo\n", func(s *ServiceSection) bool { return s.Exec.StandardOutput == "inherit" }},
		{"stdin-socket-keeps-inherit", svc + "StandardInput=socket\nStandardOutput=inherit\n", func(s *ServiceSection) bool { return s.Exec.StandardOutput == "inherit" }},
		{"stdio-files", svc + "StandardOutput=append:/var/log/x\nStandardError=file:/tmp/e\nStandardInput=file:/etc/hosts\n", func(s *ServiceSection) bool {
			return s.Exec.StandardOutput == "append:/var/log/x" && s.Exec.StandardError == "file:/tmp/e" && s.Exec.StandardInput == "file:/etc/hosts"
		}},
		{"stdio-fd", svc + "StandardOutput=fd:foo\n", func(s *ServiceSection) bool { return s.Exec.StandardOutput == "fd:foo" }},
		{"stdio-fd-bare", svc + "StandardOutput=fd\nStandardError=fd:\n", func(s *ServiceSection) bool { return s.Exec.StandardOutput == "fd" && s.Exec.StandardError == "fd" }},
		{"stdin-fd-bare", svc + "StandardInput=fd\n", func(s *ServiceSection) bool {
			return s.Exec.StandardInput == "fd" && s.Exec.StandardOutput == "inherit"
		}},
		{"stdio-syslog", svc + "StandardOutput=syslog\n", func(s *ServiceSection) bool { return s.Exec.StandardOutput == "journal" }},
		{"stdin-text", svc + "StandardInputText=hello\\tworld\nStandardInputText=%n\n", func(s *ServiceSection) bool {
			return s.Exec.StandardInputText == "hello\tworld\nfoo.service\n" && s.Exec.StandardInput == "data"
		}},
		{"stdin-data", svc + "StandardInputData=aGVsbG8=\n", func(s *ServiceSection) bool { return s.Exec.StandardInputText == "hello" }},
		{"environment", svc + "Environment=A=1 \"B=two words\" C=%n\nEnvironment=A=3\n", func(s *ServiceSection) bool {
			return reflect.DeepEqual(s.Exec.Environment, []string{"A=3", "B=two words", "C=foo.service"})
		}},
		{"environment-reset", svc + "Environment=A=1\nEnvironment=\nEnvironment=B=2\n", func(s *ServiceSection) bool { return reflect.DeepEqual(s.Exec.Environment, []string{"B=2"}) }},
		{"environment-invalid-skipped", svc + "Environment=A=1 nonsense 1X=2 B=2\n", func(s *ServiceSection) bool { return reflect.DeepEqual(s.Exec.Environment, []string{"A=1", "B=2"}) }},
		{"environment-file", svc + "EnvironmentFile=/etc/a\nEnvironmentFile=-/etc/b\nEnvironmentFile=rel\n", func(s *ServiceSection) bool {
			return reflect.DeepEqual(s.Exec.EnvironmentFiles, []EnvironmentFile{{Path: "/etc/a"}, {Path: "/etc/b", Optional: true}})
		}},
		{"pass-unset-env", svc + "PassEnvironment=TERM LANG\nUnsetEnvironment=FOO BAR=1\n", func(s *ServiceSection) bool {
			return reflect.DeepEqual(s.Exec.PassEnvironment, []string{"TERM", "LANG"}) && reflect.DeepEqual(s.Exec.UnsetEnvironment, []string{"FOO", "BAR=1"})
		}},
		{"user-group", svc + "User=nobody\nGroup=nogroup\nSupplementaryGroups=a b\nSupplementaryGroups=c\n", func(s *ServiceSection) bool {
			return s.Exec.User == "nobody" && s.Exec.Group == "nogroup" && reflect.DeepEqual(s.Exec.SupplementaryGroups, []string{"a", "b", "c"})
		}},
		{"user-numeric", svc + "User=1000\n", func(s *ServiceSection) bool { return s.Exec.User == "1000" }},
		{"working-directory", svc + "WorkingDirectory=-/srv/x\n", func(s *ServiceSection) bool {
			return s.Exec.WorkingDirectory == "/srv/x" && s.Exec.WorkingDirectoryOptional
		}},
		{"working-directory-home", svc + "WorkingDirectory=~\n", func(s *ServiceSection) bool { return s.Exec.WorkingDirectory == "~" }},
		{"root-directory", svc + "RootDirectory=/srv/root\n", func(s *ServiceSection) bool { return s.Exec.RootDirectory == "/srv/root" }},
		{"umask-nice-oom", svc + "UMask=0077\nNice=-5\nOOMScoreAdjust=500\n", func(s *ServiceSection) bool {
			return s.Exec.UMask == 0o077 && s.Exec.Nice == -5 && s.Exec.NiceSet && s.Exec.OOMScoreAdjust == 500 && s.Exec.OOMScoreAdjustSet
		}},
		{"nice-out-of-range", svc + "Nice=30\n", func(s *ServiceSection) bool { return !s.Exec.NiceSet }},
		{"rlimits", svc + "LimitNOFILE=1024:4096\nLimitCORE=infinity\nLimitNOFILE=2048\n", func(s *ServiceSection) bool {
			return reflect.DeepEqual(s.Exec.Rlimits, []Rlimit{{Resource: 7, Soft: 2048, Hard: 2048}, {Resource: 4, Soft: Infinity, Hard: Infinity}})
		}},
		{"directories", svc + "RuntimeDirectory=foo foo/bar\nStateDirectory=s\nRuntimeDirectoryMode=0700\nRuntimeDirectoryPreserve=restart\nRuntimeDirectory=/abs ../up\n", func(s *ServiceSection) bool {
			return reflect.DeepEqual(s.Exec.RuntimeDirectory, []string{"foo", "foo/bar"}) && reflect.DeepEqual(s.Exec.StateDirectory, []string{"s"}) &&
				s.Exec.RuntimeDirectoryMode == 0o700 && s.Exec.RuntimeDirectoryPreserve == "restart"
		}},
		{"syslog-tty", svc + "SyslogIdentifier=%p\nTTYPath=/dev/tty5\n", func(s *ServiceSection) bool { return s.Exec.SyslogIdentifier == "foo" && s.Exec.TTYPath == "/dev/tty5" }},
		{"kill", svc + "KillMode=mixed\nKillSignal=SIGINT\nRestartKillSignal=HUP\nFinalKillSignal=9\nWatchdogSignal=SIGQUIT\nSendSIGKILL=no\nSendSIGHUP=yes\n", func(s *ServiceSection) bool {
			k := s.Kill
			return k.KillMode == "mixed" && k.KillSignal == syscall.SIGINT && k.RestartKillSignal == syscall.SIGHUP && k.FinalKillSignal == syscall.SIGKILL &&
				k.WatchdogSignal == syscall.SIGQUIT && !k.SendSIGKILL && k.SendSIGHUP
		}},
		{"kill-defaults", svc, func(s *ServiceSection) bool {
			k := s.Kill
			return k.KillMode == "control-group" && k.KillSignal == syscall.SIGTERM && k.FinalKillSignal == syscall.SIGKILL && k.WatchdogSignal == syscall.SIGABRT && k.SendSIGKILL
		}},
		{"not-enforced", svc + "ProtectSystem=strict\nPrivateTmp=yes\nSystemCallFilter=@system-service\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE\nMemoryMax=1G\nPrivateTmp=no\n", func(s *ServiceSection) bool {
			return len(s.Exec.NotEnforced) == 0 && s.Exec.MemoryMax == 1<<30
		}},
		{"dynamic-user-implies", svc + "DynamicUser=yes\nProtectHome=tmpfs\nProtectSystem=no\nNoNewPrivileges=no\n", func(s *ServiceSection) bool {
			e := s.Exec
			return e.User == "foo" && e.Group == "foo" && e.PrivateTmp && e.RemoveIPC && e.NoNewPrivileges && e.RestrictSUIDSGID &&
				e.ProtectSystem == "strict" && e.ProtectHome == "tmpfs"
		}},
		{"dynamic-user-names", svc + "DynamicUser=yes\nUser=web\nProtectHome=yes\n", func(s *ServiceSection) bool {
			return s.Exec.User == "web" && s.Exec.Group == "web" && s.Exec.ProtectHome == "yes"
		}},
		{"sandbox-without-dynamic-user", svc + "ProtectHome=read-only\nProtectSystem=full\nRemoveIPC=yes\nProtectSystem=bogus\n", func(s *ServiceSection) bool {
			e := s.Exec
			return e.User == "" && !e.PrivateTmp && e.RemoveIPC && !e.NoNewPrivileges && e.ProtectSystem == "full" && e.ProtectHome == "read-only"
		}},
		{"unit-compat-in-service", svc + "StartLimitInterval=20\nStartLimitBurst=3\n", func(s *ServiceSection) bool { return true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, diags := decodeText(t, "foo.service", tc.content)
			if u.Service == nil {
				t.Fatalf("no service section")
			}
			if !tc.check(u.Service) {
				t.Errorf("check failed for\n%s\nservice: %+v\ndiags: %s", tc.content, *u.Service, msgs(diags))
			}
			if u.LoadState != Loaded {
				t.Errorf("LoadState %s: %s", u.LoadState, u.LoadError)
			}
		})
	}
}

func TestDecodeSocketFields(t *testing.T) {
	const sock = "[Socket]\nListenStream=/run/foo.sock\n"
	for _, tc := range []struct {
		name    string
		content string
		check   func(s *SocketSection) bool
	}{
		{"defaults", sock, func(s *SocketSection) bool {
			return s.Backlog == 2147483647 && s.SocketMode == 0o666 && s.DirectoryMode == 0o755 && s.MaxConnections == 64 && !s.Accept &&
				s.TriggerLimitInterval == 2*time.Second && s.TriggerLimitBurst == 20 && s.BindIPv6Only == "default" && s.TimeoutSec == 90*time.Second &&
				s.Priority == -1 && s.IPTOS == -1 && s.IPTTL == -1 && s.Mark == -1 && s.Exec.StandardOutput == "journal"
		}},
		{"accept-burst", "[Socket]\nListenStream=80\nAccept=yes\n", func(s *SocketSection) bool { return s.Accept && s.TriggerLimitBurst == 200 }},
		{"explicit-burst", sock + "TriggerLimitBurst=7\nTriggerLimitIntervalSec=5s\n", func(s *SocketSection) bool {
			return s.TriggerLimitBurst == 7 && s.TriggerLimitInterval == 5*time.Second
		}},
		{"listen-kinds", sock + "ListenDatagram=127.0.0.1:53\nListenSequentialPacket=@seq\nListenFIFO=/run/fifo\nListenNetlink=route 1\nListenSpecial=/dev/kmsg\nListenMessageQueue=/mq\n",
			func(s *SocketSection) bool {
				if len(s.Listen) != 7 {
					return false
				}
				kinds := []ListenKind{ListenStream, ListenDatagram, ListenSequentialPacket, ListenFIFO, ListenNetlink, ListenSpecial, ListenMessageQueue}
				for i, k := range kinds {
					if s.Listen[i].Kind != k {
						return false
					}
				}
				return s.Listen[1].Host == "127.0.0.1" && s.Listen[1].Port == 53
			}},
		{"listen-reset-all-kinds", sock + "ListenDatagram=53\nListenFIFO=\nListenStream=8080\n", func(s *SocketSection) bool {
			return len(s.Listen) == 1 && s.Listen[0].Port == 8080
		}},
		{"listen-specifier", "[Socket]\nListenStream=%t/%p.sock\n", func(s *SocketSection) bool { return s.Listen[0].Path == "/run/foo.sock" }},
		{"listen-bad-ignored", sock + "ListenStream=nonsense:port\n", func(s *SocketSection) bool { return len(s.Listen) == 1 }},
		{"options", sock + "SocketMode=0600\nDirectoryMode=0700\nBacklog=128\nMaxConnections=10\nMaxConnectionsPerSource=2\nKeepAlive=yes\nKeepAliveTimeSec=30\nKeepAliveIntervalSec=5\nKeepAliveProbes=3\nNoDelay=true\nPriority=6\nDeferAcceptSec=2\nReceiveBuffer=1M\nSendBuffer=64K\nIPTOS=low-delay\nIPTTL=10\nMark=7\nReusePort=yes\nPipeSize=4K\nFreeBind=yes\nTransparent=yes\nBroadcast=yes\nPassCredentials=yes\nPassSecurity=yes\nPassPacketInfo=yes\nTimestamping=ns\nTCPCongestion=cubic\nRemoveOnStop=yes\nWritable=yes\nFlushPending=yes\nBindToDevice=lo\nBindIPv6Only=both\nSocketProtocol=sctp\nMessageQueueMaxMessages=10\nMessageQueueMessageSize=128\nFileDescriptorName=web\nSymlinks=/run/a /run/b\nSocketUser=nobody\nSocketGroup=nogroup\nTimeoutSec=0\n",
			func(s *SocketSection) bool {
				return s.SocketMode == 0o600 && s.DirectoryMode == 0o700 && s.Backlog == 128 && s.MaxConnections == 10 && s.MaxConnectionsPerSource == 2 &&
					s.KeepAlive && s.KeepAliveTime == 30*time.Second && s.KeepAliveInterval == 5*time.Second && s.KeepAliveProbes == 3 && s.NoDelay &&
					s.Priority == 6 && s.DeferAcceptSec == 2*time.Second && s.ReceiveBuffer == 1<<20 && s.SendBuffer == 64<<10 && s.IPTOS == 0x10 &&
					s.IPTTL == 10 && s.Mark == 7 && s.ReusePort && s.PipeSize == 4096 && s.FreeBind && s.Transparent && s.Broadcast &&
					s.PassCredentials && s.PassSecurity && s.PassPacketInfo && s.Timestamping == "ns" && s.TCPCongestion == "cubic" &&
					s.RemoveOnStop && s.Writable && s.FlushPending && s.BindToDevice == "lo" && s.BindIPv6Only == "both" && s.SocketProtocol == "sctp" &&
					s.MessageQueueMaxMessages == 10 && s.MessageQueueMessageSize == 128 && s.FileDescriptorName == "web" &&
					reflect.DeepEqual(s.Symlinks, []string{"/run/a", "/run/b"}) && s.SocketUser == "nobody" && s.SocketGroup == "nogroup" && s.TimeoutSec == 0
			}},
		{"service", sock + "Service=bar.service\n", func(s *SocketSection) bool { return s.Service == "bar.service" }},
		{"exec", sock + "ExecStartPre=/bin/pre\nExecStartPost=/bin/post\nExecStopPre=/bin/stoppre\nExecStopPost=/bin/stoppost\n", func(s *SocketSection) bool {
			return len(s.ExecStartPre) == 1 && len(s.ExecStartPost) == 1 && len(s.ExecStopPre) == 1 && len(s.ExecStopPost) == 1
		}},
		{"bad-values-ignored", sock + "SocketMode=999\nBacklog=-1\nAccept=maybe\nBindToDevice=a/b\nFileDescriptorName=a:b\n", func(s *SocketSection) bool {
			return s.SocketMode == 0o666 && s.Backlog == 2147483647 && !s.Accept && s.BindToDevice == "" && s.FileDescriptorName == ""
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, diags := decodeText(t, "foo.socket", tc.content)
			if u.Socket == nil {
				t.Fatalf("no socket section")
			}
			if !tc.check(u.Socket) {
				t.Errorf("check failed for\n%s\nsocket: %+v\ndiags: %s", tc.content, *u.Socket, msgs(diags))
			}
			if u.LoadState != Loaded {
				t.Errorf("LoadState %s: %s", u.LoadState, u.LoadError)
			}
		})
	}
}

func TestDecodeUnitFields(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content string
		check   func(u *Unit) bool
	}{
		{"description", "[Unit]\nDescription=Foo for %i\n", func(u *Unit) bool { return u.Unit.Description == "Foo for inst" }},
		{"deps-template-instantiated", "[Unit]\nRequires=a@.service\nWants=b@.socket\n", func(u *Unit) bool {
			return reflect.DeepEqual(u.Unit.Requires, []string{"a@foo.service"}) && reflect.DeepEqual(u.Unit.Wants, []string{"b@foo.socket"})
		}},
		{"deps-invalid-dropped", "[Unit]\nWants=not a name\nAfter=x/y.service z.service\n", func(u *Unit) bool {
			return len(u.Unit.Wants) == 0 && reflect.DeepEqual(u.Unit.After, []string{"z.service"})
		}},
		{"documentation", "[Unit]\nDocumentation=man:foo(1) https://x.org\nDocumentation=bogus\n", func(u *Unit) bool {
			return reflect.DeepEqual(u.Unit.Documentation, []string{"man:foo(1)", "https://x.org"})
		}},
		{"deps", "[Unit]\nWants=a.service b.socket\nRequires=c.target\nAfter=a.service\nAfter=a.service d.service\nBefore=e.service\nBindsTo=f.service\nBindTo=g.service\nPartOf=h.service\nConflicts=i.service\nRequisite=j.service\nUpholds=k.service\nOnFailure=l.service\nOnSuccess=m.service\nPropagatesReloadTo=n.service\nReloadPropagatedFrom=o.service\nJoinsNamespaceOf=p.service\nPropagatesStopTo=q.service\nStopPropagatedFrom=r.service\n",
			func(u *Unit) bool {
				x := u.Unit
				return reflect.DeepEqual(x.Wants, []string{"a.service", "b.socket"}) && reflect.DeepEqual(x.Requires, []string{"c.target"}) &&
					reflect.DeepEqual(x.After, []string{"a.service", "d.service"}) && reflect.DeepEqual(x.BindsTo, []string{"f.service", "g.service"}) &&
					len(x.Before) == 1 && len(x.PartOf) == 1 && len(x.Conflicts) == 1 && len(x.Requisite) == 1 && len(x.Upholds) == 1 &&
					len(x.OnFailure) == 1 && len(x.OnSuccess) == 1 && len(x.PropagatesReloadTo) == 1 && len(x.ReloadPropagatedFrom) == 1 &&
					len(x.JoinsNamespaceOf) == 1 && len(x.PropagatesStopTo) == 1 && len(x.StopPropagatedFrom) == 1
			}},
		{"deps-specifier", "[Unit]\nWants=%p-helper.service\n", func(u *Unit) bool { return reflect.DeepEqual(u.Unit.Wants, []string{"foo-helper.service"}) }},
		{"deps-bad-name-ignored", "[Unit]\nWants=nosuffix a.service\n", func(u *Unit) bool { return reflect.DeepEqual(u.Unit.Wants, []string{"a.service"}) }},
		{"deps-empty-no-reset", "[Unit]\nWants=a.service\nWants=\n", func(u *Unit) bool { return reflect.DeepEqual(u.Unit.Wants, []string{"a.service"}) }},
		{"bools", "[Unit]\nStopWhenUnneeded=yes\nRefuseManualStart=yes\nRefuseManualStop=yes\nAllowIsolate=yes\nIgnoreOnIsolate=yes\nDefaultDependencies=no\n", func(u *Unit) bool {
			x := u.Unit
			return x.StopWhenUnneeded && x.RefuseManualStart && x.RefuseManualStop && x.AllowIsolate && x.IgnoreOnIsolate && !x.DefaultDependencies
		}},
		{"defaults", "", func(u *Unit) bool {
			x := u.Unit
			return x.DefaultDependencies && x.StartLimitInterval == 10*time.Second && x.StartLimitBurst == 5 && x.OnFailureJobMode == "replace" &&
				x.CollectMode == "inactive" && x.FailureAction == "none" && x.FailureActionExitStatus == -1
		}},
		{"start-limit", "[Unit]\nStartLimitIntervalSec=1min\nStartLimitBurst=3\nStartLimitAction=reboot\n", func(u *Unit) bool {
			return u.Unit.StartLimitInterval == time.Minute && u.Unit.StartLimitBurst == 3 && u.Unit.StartLimitAction == "reboot"
		}},
		{"actions", "[Unit]\nFailureAction=exit\nSuccessAction=poweroff\nFailureActionExitStatus=3\nJobTimeoutSec=5\nJobTimeoutAction=reboot-force\nRebootArgument=x\nCollectMode=inactive-or-failed\nOnFailureJobMode=isolate\n", func(u *Unit) bool {
			x := u.Unit
			return x.FailureAction == "exit" && x.SuccessAction == "poweroff" && x.FailureActionExitStatus == 3 && x.JobTimeout == 5*time.Second &&
				x.JobTimeoutAction == "reboot-force" && x.RebootArgument == "x" && x.CollectMode == "inactive-or-failed" && x.OnFailureJobMode == "isolate"
		}},
		// JobTimeoutSec= sets JobRunningTimeoutSec= too, unless that is given, before or after.
		{"job-timeout-both", "[Unit]\nJobTimeoutSec=5\n", func(u *Unit) bool {
			return u.Unit.JobTimeout == 5*time.Second && u.Unit.JobRunningTimeout == 5*time.Second
		}},
		{"job-running-timeout-first", "[Unit]\nJobRunningTimeoutSec=infinity\nJobTimeoutSec=5\n", func(u *Unit) bool {
			return u.Unit.JobTimeout == 5*time.Second && u.Unit.JobRunningTimeout == 0 && u.Unit.JobRunningTimeoutSet
		}},
		{"job-running-timeout-after", "[Unit]\nJobTimeoutSec=5\nJobRunningTimeoutSec=1min\nJobTimeoutRebootArgument=now\n", func(u *Unit) bool {
			return u.Unit.JobTimeout == 5*time.Second && u.Unit.JobRunningTimeout == time.Minute && u.Unit.JobTimeoutRebootArgument == "now" && u.Unit.RebootArgument == ""
		}},
		{"job-timeout-bad", "[Unit]\nJobRunningTimeoutSec=bogus\nJobTimeoutSec=5\n", func(u *Unit) bool {
			return u.Unit.JobRunningTimeout == 5*time.Second && !u.Unit.JobRunningTimeoutSet
		}},
		{"conditions", "[Unit]\nConditionPathExists=/etc/foo\nConditionPathExists=|!/etc/bar\nAssertVirtualization=!container\nConditionHost=%p\n", func(u *Unit) bool {
			c := u.Unit.Conditions
			return len(c) == 4 && c[0].Pos.String() == "/etc/systemd/system/foo.service:2" &&
				c[0] == Condition{Kind: "PathExists", Param: "/etc/foo", Pos: c[0].Pos} &&
				c[1].Trigger && c[1].Negate && c[1].Param == "/etc/bar" && c[2].Assert && c[2].Negate && c[2].Kind == "Virtualization" && c[3].Param == "foo"
		}},
		{"conditions-reset", "[Unit]\nConditionPathExists=/a\nAssertPathExists=/b\nConditionPathExists=\n", func(u *Unit) bool {
			return len(u.Unit.Conditions) == 1 && u.Unit.Conditions[0].Assert
		}},
		{"condition-relative-ignored", "[Unit]\nConditionPathExists=relative\n", func(u *Unit) bool { return len(u.Unit.Conditions) == 0 }},
		{"requires-mounts-for", "[Unit]\nRequiresMountsFor=/var /srv/x\n", func(u *Unit) bool { return reflect.DeepEqual(u.Unit.RequiresMountsFor, []string{"/var", "/srv/x"}) }},
		{"install", "[Install]\nWantedBy=multi-user.target\nWantedBy=b.target\nRequiredBy=c.target\nAlias=bar.service\nAlso=x.socket\nDefaultInstance=tty1\n", func(u *Unit) bool {
			i := u.Install
			return reflect.DeepEqual(i.WantedBy, []string{"multi-user.target", "b.target"}) && reflect.DeepEqual(i.RequiredBy, []string{"c.target"}) &&
				reflect.DeepEqual(i.Alias, []string{"bar.service"}) && reflect.DeepEqual(i.Also, []string{"x.socket"}) && i.DefaultInstance == "tty1"
		}},
		{"extra", "[Unit]\nX-Foo=bar\n[X-Custom]\nKey=Value\n", func(u *Unit) bool {
			return len(u.Extra["Unit"]) == 1 && u.Extra["Unit"][0].Key == "X-Foo" && len(u.Extra["X-Custom"]) == 1 && u.Extra["X-Custom"][0].Value == "Value"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, diags := decodeText(t, "foo.service", tc.content+"[Service]\nExecStart=/bin/true\n")
			if !tc.check(u) {
				t.Errorf("check failed for\n%s\nunit: %+v\ndiags: %s", tc.content, u.Unit, msgs(diags))
			}
		})
	}
}

// TestDecodeDiagnostics checks which problems are warnings (ignored) and which make the
// unit fail to load, with systemd's messages and places.
func TestDecodeDiagnostics(t *testing.T) {
	for _, tc := range []struct {
		name, unit, content string
		want                string // one diagnostic per line, as Diagnostic.String
		state               LoadState
	}{
		{"unknown-key", "foo.service", svc + "Foo=bar\n", "/etc/systemd/system/foo.service:3: warning: Unknown key 'Foo' in section [Service], ignoring.", Loaded},
		{"unknown-section", "foo.service", svc + "[Socket]\nListenStream=80\n", "/etc/systemd/system/foo.service:3: warning: Unknown section 'Socket'. Ignoring.", Loaded},
		{"x-key-silent", "foo.service", svc + "X-Foo=bar\n[X-Bar]\nA=b\n", "", Loaded},
		{"bad-bool", "foo.service", svc + "RemainAfterExit=perhaps\n", "/etc/systemd/system/foo.service:3: warning: Failed to parse boolean value, ignoring: perhaps", Loaded},
		{"bad-timespan", "foo.service", svc + "RestartSec=soon\n", "/etc/systemd/system/foo.service:3: warning: Failed to parse sec value, ignoring: soon", Loaded},
		{"bad-exec", "foo.service", "[Service]\nExecStart=/usr/bin/\n", "/etc/systemd/system/foo.service:2: error: Executable path specifies a directory: /usr/bin/", BadSetting},
		{"bad-exec-ignored", "foo.service", svc + "ExecStartPre=-/usr/bin/\n", "/etc/systemd/system/foo.service:3: warning: Executable path specifies a directory, ignoring: /usr/bin/", Loaded},
		{"unknown-specifier-exec", "foo.service", "[Service]\nExecStart=/bin/echo %z\n", "/etc/systemd/system/foo.service:2: error: Failed to resolve unit specifiers in %z: Invalid slot", BadSetting},
		{"unknown-specifier-description", "foo.service", "[Unit]\nDescription=%z\n" + svc, "/etc/systemd/system/foo.service:2: warning: Failed to resolve unit specifiers in '%z', ignoring: Invalid slot", Loaded},
		{"bad-user", "foo.service", svc + "User=a:b\n", "/etc/systemd/system/foo.service:3: error: Invalid user/group name or numeric ID: a:b", BadSetting},
		{"relative-working-directory", "foo.service", svc + "WorkingDirectory=srv\n", "/etc/systemd/system/foo.service:3: error: WorkingDirectory= path is not absolute: srv", BadSetting},
		{"relative-root-directory", "foo.service", svc + "RootDirectory=srv\n", "/etc/systemd/system/foo.service:3: error: RootDirectory= path is not absolute: srv", BadSetting},
		{"relative-tty-path", "foo.service", svc + "TTYPath=tty1\n", "/etc/systemd/system/foo.service:3: warning: TTYPath= path is not absolute, ignoring: tty1", Loaded},
		{"word-list-bad-syntax", "foo.service", svc + "Environment=\"A=1\n", "/etc/systemd/system/foo.service:3: warning: Invalid syntax, ignoring: \"A=1", Loaded},
		{"word-list-specifier", "foo.service", svc + "RuntimeDirectory=a%z b\n", "/etc/systemd/system/foo.service:3: warning: Failed to resolve unit specifiers in \"a%z\", ignoring: Invalid slot", Loaded},
		{"sockets-not-socket", "foo.service", svc + "Sockets=bar.service\n", "/etc/systemd/system/foo.service:3: warning: Unit must be of type socket, ignoring: bar.service", Loaded},
		{"socket-service-not-service", "foo.socket", "[Socket]\nListenStream=80\nService=bar.socket\n", "/etc/systemd/system/foo.socket:3: warning: Unit must be of type service, ignoring: bar.socket", Loaded},
		{"parsing-stops-at-first-error", "foo.service", "[Service]\nExecStart=/a/\nExecStart=/b/\nFoo=bar\n", "/etc/systemd/system/foo.service:2: error: Executable path specifies a directory: /a/", BadSetting},
		{"invalid-section-header", "foo.service", "[Service\nExecStart=/bin/true\n", "/etc/systemd/system/foo.service:1: error: Invalid section header '[Service'\n/etc/systemd/system/foo.service: error: Service has no ExecStart=, ExecStop=, or SuccessAction=. Refusing.", BadSetting},
		// verify checks
		{"no-exec", "foo.service", "[Service]\nType=simple\n", "/etc/systemd/system/foo.service: error: Service has no ExecStart=, ExecStop=, or SuccessAction=. Refusing.", BadSetting},
		{"no-start-not-oneshot", "foo.service", "[Service]\nType=simple\nExecStop=/bin/true\n", "/etc/systemd/system/foo.service: error: Service has no ExecStart= setting, which is only allowed for Type=oneshot services. Refusing.", BadSetting},
		{"oneshot-no-start-no-remain", "foo.service", "[Service]\nExecStop=/bin/true\n", "/etc/systemd/system/foo.service: error: Service has no ExecStart= and no SuccessAction= settings and does not have RemainAfterExit=yes set. Refusing.", BadSetting},
		{"oneshot-stop-only-remain", "foo.service", "[Service]\nExecStop=/bin/true\nRemainAfterExit=yes\n", "", Loaded},
		{"success-action-only", "foo.service", "[Unit]\nSuccessAction=exit\n[Service]\nType=oneshot\n", "", Loaded},
		{"several-start-simple", "foo.service", "[Service]\nExecStart=/bin/a\nExecStart=/bin/b\n", "/etc/systemd/system/foo.service: error: Service has more than one ExecStart= setting, which is only allowed for Type=oneshot services. Refusing.", BadSetting},
		{"several-start-semicolon", "foo.service", "[Service]\nExecStart=/bin/a ; /bin/b\n", "/etc/systemd/system/foo.service: error: Service has more than one ExecStart= setting, which is only allowed for Type=oneshot services. Refusing.", BadSetting},
		{"oneshot-restart-always", "foo.service", "[Service]\nType=oneshot\nExecStart=/bin/a\nExecStart=/bin/b\nRestart=always\n", "/etc/systemd/system/foo.service: error: Service has Restart= set to either always or on-success, which isn't allowed for Type=oneshot services. Refusing.", BadSetting},
		{"oneshot-restart-on-failure", "foo.service", "[Service]\nType=oneshot\nExecStart=/bin/a\nRestart=on-failure\n", "", Loaded},
		{"oneshot-restart-force", "foo.service", "[Service]\nType=oneshot\nExecStart=/bin/a\nRestartForceExitStatus=3\n", "/etc/systemd/system/foo.service: error: Service has RestartForceExitStatus= set, which isn't allowed for Type=oneshot services. Refusing.", BadSetting},
		{"dbus-no-busname", "foo.service", "[Service]\nType=dbus\nExecStart=/bin/a\n", "/etc/systemd/system/foo.service: error: Service is of type D-Bus but no D-Bus service name has been specified. Refusing.", BadSetting},
		{"pam-killmode", "foo.service", svc + "PAMName=login\nKillMode=process\n", "/etc/systemd/system/foo.service: error: Service has PAM enabled. Kill mode must be set to 'control-group' or 'mixed'. Refusing.", BadSetting},
		{"runtime-max-oneshot", "foo.service", "[Service]\nType=oneshot\nExecStart=/bin/a\nRuntimeMaxSec=5\n", "/etc/systemd/system/foo.service: warning: RuntimeMaxSec= has no effect in combination with Type=oneshot. Ignoring.", Loaded},
		{"runtime-max-zero-oneshot", "foo.service", "[Service]\nType=oneshot\nExecStart=/bin/a\nRuntimeMaxSec=0\n", "/etc/systemd/system/foo.service: warning: RuntimeMaxSec= has no effect in combination with Type=oneshot. Ignoring.", Loaded},
		{"job-running-timeout-over-job-timeout", "foo.service", "[Unit]\nJobTimeoutSec=7\nJobRunningTimeoutSec=2min\n[Service]\nExecStart=/bin/a\n", "/etc/systemd/system/foo.service: warning: JobRunningTimeoutSec= is greater than JobTimeoutSec=, it has no effect.", Loaded},
		{"job-running-timeout-under-job-timeout", "foo.service", "[Unit]\nJobTimeoutSec=7\nJobRunningTimeoutSec=2\n[Service]\nExecStart=/bin/a\n", "", Loaded},
		{"job-running-timeout-job-timeout-infinity", "foo.service", "[Unit]\nJobTimeoutSec=infinity\nJobRunningTimeoutSec=2min\n[Service]\nExecStart=/bin/a\n", "", Loaded},
		{"dep-invalid-name", "foo.service", "[Unit]\nWants=bar\n[Service]\nExecStart=/bin/a\n", "/etc/systemd/system/foo.service:2: warning: Failed to add dependency on bar, ignoring: Invalid argument", Loaded},
		{"socket-service-template", "foo.socket", "[Socket]\nListenStream=/run/x\nService=bar@.service\n", "/etc/systemd/system/foo.socket:3: warning: Failed to load unit bar@.service, ignoring: Unit name bar@.service is missing the instance name.", Loaded},
		{"listen-empty-abstract", "foo.socket", "[Socket]\nListenStream=@\nListenStream=/run/x\n", "/etc/systemd/system/foo.socket:2: warning: Failed to parse address value in '@', ignoring: Invalid argument", Loaded},
		{"socket-no-listen", "foo.socket", "[Socket]\nAccept=yes\n", "/etc/systemd/system/foo.socket: error: Unit has no Listen setting (ListenStream=, ListenDatagram=, ListenFIFO=, ...). Refusing.", BadSetting},
		{"socket-listen-reset", "foo.socket", "[Socket]\nListenStream=80\nListenStream=\n", "/etc/systemd/system/foo.socket: error: Unit has no Listen setting (ListenStream=, ListenDatagram=, ListenFIFO=, ...). Refusing.", BadSetting},
		{"socket-accept-datagram", "foo.socket", "[Socket]\nListenDatagram=53\nAccept=yes\n", "/etc/systemd/system/foo.socket: error: Unit configured for accepting sockets, but sockets are non-accepting. Refusing.", BadSetting},
		{"socket-accept-fifo", "foo.socket", "[Socket]\nListenFIFO=/run/f\nAccept=yes\n", "/etc/systemd/system/foo.socket: error: Unit configured for accepting sockets, but sockets are non-accepting. Refusing.", BadSetting},
		{"socket-accept-maxconn", "foo.socket", "[Socket]\nListenStream=80\nAccept=yes\nMaxConnections=0\n", "/etc/systemd/system/foo.socket: error: MaxConnection= setting too small. Refusing.", BadSetting},
		{"socket-accept-service", "foo.socket", "[Socket]\nListenStream=80\nAccept=yes\nService=bar.service\n", "/etc/systemd/system/foo.socket: error: Explicit service configuration for accepting socket units not supported. Refusing.", BadSetting},
		{"socket-symlinks-no-path", "foo.socket", "[Socket]\nListenStream=80\nSymlinks=/run/x\n", "/etc/systemd/system/foo.socket: error: Unit has symlinks set but none or more than one node in the file system. Refusing.", BadSetting},
		{"socket-symlinks-ok", "foo.socket", "[Socket]\nListenStream=/run/foo.sk\nListenStream=80\nSymlinks=/run/x\n", "", Loaded},
		{"socket-accept-stream-ok", "foo.socket", "[Socket]\nListenStream=80\nListenSequentialPacket=/run/s\nAccept=yes\n", "", Loaded},
		{"target-no-checks", "foo.target", "[Unit]\nDescription=x\n", "", Loaded},
		{"target-service-section", "foo.target", "[Service]\nExecStart=/bin/true\n", "/etc/systemd/system/foo.target:1: warning: Unknown section 'Service'. Ignoring.", Loaded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, diags := decodeText(t, tc.unit, tc.content)
			if got := msgs(diags); got != tc.want {
				t.Errorf("diagnostics:\n%s\nwant:\n%s", got, tc.want)
			}
			if u.LoadState != tc.state {
				t.Errorf("LoadState = %s, want %s", u.LoadState, tc.state)
			}
			if tc.state == BadSetting && !strings.HasPrefix(u.LoadError, "/etc/systemd/system/"+tc.unit) {
				t.Errorf("LoadError = %q", u.LoadError)
			}
		})
	}
}

func TestDecodeDropIns(t *testing.T) {
	u, diags := decodeText(t, "foo.service", "[Unit]\nDescription=a\n[Service]\nExecStart=/bin/a\nEnvironment=A=1\n",
		"[Service]\nExecStart=\nExecStart=/bin/b\nEnvironment=B=2\n", "[Unit]\nDescription=c\n")
	if len(diags) != 0 {
		t.Fatal(msgs(diags))
	}
	s := u.Service
	if len(s.ExecStart) != 1 || s.ExecStart[0].Path != "/bin/b" || !strings.HasSuffix(s.ExecStart[0].Pos.String(), ".d/a.conf:3") {
		t.Errorf("ExecStart = %+v", s.ExecStart)
	}
	if !reflect.DeepEqual(s.Exec.Environment, []string{"A=1", "B=2"}) || u.Unit.Description != "c" {
		t.Errorf("Environment %q Description %q", s.Exec.Environment, u.Unit.Description)
	}
}

func TestDirectives(t *testing.T) {
	all := Directives()
	seen := map[string]Status{}
	for _, d := range all {
		seen[d.Section+"."+d.Name] = d.Status
	}
	for key, want := range map[string]Status{
		"Service.ExecStart": Supported, "Socket.ListenStream": Supported, "Unit.After": Supported, "Install.WantedBy": Supported,
		"Service.ProtectSystem": Supported, "Socket.PrivateTmp": Supported, "Service.BindPaths": Supported,
		"Service.LoadCredentialEncrypted": NotEnforced, "Service.SystemCallFilter": Supported,
		"Service.CPUQuota": Supported, "Service.IPAddressDeny": Supported, "Service.IPEgressFilterPath": NotEnforced, "Service.User": Supported, "Socket.KillMode": Supported,
	} {
		if seen[key] != want {
			t.Errorf("%s: status %q, want %q", key, seen[key], want)
		}
	}
	if len(all) < 500 {
		t.Errorf("only %d directives", len(all))
	}
	for i := 1; i < len(all); i++ {
		a, b := all[i-1], all[i]
		if sectionOrder[a.Section] > sectionOrder[b.Section] || a.Section == b.Section && a.Name >= b.Name {
			t.Fatalf("not sorted at %v %v", a, b)
		}
	}
}

// newTestUnit is a unit named name, with the name's parts set as the loader sets them.
func newTestUnit(name string) *Unit {
	u := &Unit{Name: name, Names: []string{name}}
	u.initShared()
	dot := strings.LastIndexByte(name, '.')
	u.Type = Type(name[dot+1:])
	base := name[:dot]
	u.Prefix = base
	if at := strings.IndexByte(base, '@'); at >= 0 {
		u.Prefix = base[:at]
		if inst := base[at+1:]; inst != "" {
			u.SetInstance(inst, base[:at+1]+name[dot:])
		}
	}
	return u
}

// testExpander expands the specifiers systemd knows with fixed values; an unknown one is an
// error, as in systemd.
func testExpander(u *Unit) Expander {
	return func(s string) (string, error) {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			if s[i] != '%' {
				b.WriteByte(s[i])
				continue
			}
			if i+1 >= len(s) {
				b.WriteByte('%') // a '%' at the very end is kept, as in systemd
				break
			}
			i++
			switch c := s[i]; c {
			case '%':
				b.WriteByte('%')
			case 'n', 'N':
				b.WriteString(u.Name)
			case 'p', 'P':
				b.WriteString(u.Prefix)
			case 'i', 'I':
				b.WriteString(u.Instance)
			case 'j', 'J':
				b.WriteString(u.Prefix)
			case 'f':
				b.WriteString("/" + u.Instance)
			case 't':
				b.WriteString("/run")
			case 'S':
				b.WriteString("/var/lib")
			case 'C':
				b.WriteString("/var/cache")
			case 'L':
				b.WriteString("/var/log")
			case 'E':
				b.WriteString("/etc")
			case 'T':
				b.WriteString("/tmp")
			case 'V':
				b.WriteString("/var/tmp")
			case 'h':
				b.WriteString("/root")
			case 's':
				b.WriteString(defaultRootShell())
			case 'u', 'g':
				b.WriteString("root")
			case 'U', 'G':
				b.WriteString("0")
			case 'H', 'l', 'q':
				b.WriteString("host")
			case 'm', 'b', 'o', 'M':
				b.WriteString("0123456789abcdef0123456789abcdef")
			case 'v', 'a', 'A', 'B', 'w', 'W', 'y', 'Y', 'd':
				b.WriteString("x")
			default:
				return "", fmt.Errorf("unknown specifier %%%c", c)
			}
		}
		return b.String(), nil
	}
}
