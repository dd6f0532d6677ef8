package unit

import (
	"os"
	"syscall"
	"time"

	"github.com/flint-init/flint/internal/sandbox"
)

// Type is a unit's kind, from its name's suffix.
type Type string

const (
	TypeService Type = "service"
	TypeSocket  Type = "socket"
	TypeTarget  Type = "target"
	TypeTimer   Type = "timer"
	TypePath    Type = "path"
	TypeSlice   Type = "slice"
	TypeScope   Type = "scope"
)

// LoadState is systemd's LoadState property.
type LoadState string

const (
	Loaded     LoadState = "loaded"
	NotFound   LoadState = "not-found"
	BadSetting LoadState = "bad-setting"
	LoadError  LoadState = "error"
	Masked     LoadState = "masked"
)

// Unit is one loaded unit: its names, where it came from, and its typed configuration.
// Exactly one of Socket, Service, Target, Timer, Path is set when LoadState is Loaded (Target
// may be an empty struct).
type Unit struct {
	Name   string   // full name, e.g. "foo@bar.service"
	Type   Type     // from the suffix
	Names  []string // Name first, then aliases (symlink names and Alias=)
	Prefix string   // "foo" for foo@bar.service and foo.service (%p)
	// UnitLoad holds Instance, Template, LoadState and LoadError. Embedded (its fields read
	// as the unit's own and encode in the same place) and never nil once loaded: the units
	// that are no instance and have no error share one value per load state
	// (decode_share.go), read only; SetInstance changes it.
	*UnitLoad
	FragmentPath string
	// UnitSources holds SourcePath, DropInPaths and Diagnostics, which most units leave
	// empty. Embedded as UnitInstance; OwnSources makes a unit's own copy to change.
	*UnitSources
	// fragmentMtime is the modification time of the fragment when the unit was loaded (see
	// Loader.NeedDaemonReload; the drop-ins' is in UnitSources).
	fragmentMtime stamp
	// Triggers and TriggeredBy are the implicit socket->service activation links the Loader
	// adds (systemd's Triggers=/TriggeredBy= properties).
	Triggers, TriggeredBy []string

	Unit UnitSection
	// Install is never nil once loaded; units without [Install] settings share one empty
	// value (decode_share.go), read only.
	Install *InstallSection
	Socket  *SocketSection
	Service *ServiceSection
	Target  *TargetSection
	Timer   *TimerSection
	Path    *PathSection
	Slice   *SliceSection `json:",omitempty"`

	// Extra holds X- keys and X- sections, kept as written: section -> entries.
	Extra map[string][]Entry
}

// UnitLoad is the part of Unit that names an instance's instance and template, and says
// how the unit loaded.
type UnitLoad struct {
	Instance  string // "bar" for foo@bar.service (%i), empty otherwise
	Template  string // "foo@.service" for an instance, empty otherwise
	LoadState LoadState
	LoadError string // the first error for LoadState error/bad-setting, "file:line: msg"
}

// UnitSources is the part of Unit that lists where a unit came from besides its fragment,
// and what loading it reported.
type UnitSources struct {
	SourcePath  string
	DropInPaths []string
	Diagnostics []Diagnostic // everything found while loading, warnings included
	// dropInMtime is the modification time of the newest drop-in when the unit was loaded.
	dropInMtime stamp
}

// StartupResources are the Startup*= variants of resource settings, in effect instead of
// theirs while the manager starts up and shuts down (0 or "" unset).
type StartupResources struct {
	CPUWeight, CPUShares, IOWeight, BlockIOWeight uint64
	AllowedCPUs, AllowedMemoryNodes               string
}

// Condition is one Condition*= or Assert*= line.
type Condition struct {
	Kind    string // "PathExists", "Virtualization", ... (without the Condition/Assert prefix)
	Assert  bool   // Assert*= rather than Condition*=
	Trigger bool   // leading '|'
	Negate  bool   // leading '!'
	Param   string // after the prefixes, specifiers expanded
	Pos     Pos    // file:line
}

// UnitSection is the [Unit] section (systemd.unit(5)). The dependency lists most units set
// are its own fields; the parts few units write are structs it embeds by pointer (their
// fields read as the section's own, and encode in the same place), never nil once decoded:
// units that write none of one share a single value (decode_share.go), read only; copy it
// to change it (the Own* methods).
type UnitSection struct {
	Description string
	*UnitDocs

	Wants, Requires []string
	*UnitBindings
	Conflicts        []string
	WantedByImplicit []string // reverse deps from .wants dirs are computed by the loader
	Before, After    []string
	*UnitPropagation
	RequiresMountsFor                                     []string
	StopWhenUnneeded, RefuseManualStart, RefuseManualStop bool
	AllowIsolate, IgnoreOnIsolate                         bool
	DefaultDependencies                                   bool // default true
	// implicit is set once the Loader added the implicit and default dependencies to the
	// lists (Loader.finish).
	implicit bool
	// UnitSettings are the job, failure and start-limit settings and the conditions.
	*UnitSettings
}

// UnitDocs is the part of the [Unit] section that UnitSection embeds by pointer.
type UnitDocs struct {
	Documentation []string
}

// UnitBindings is the part of the [Unit] section that UnitSection embeds by pointer.
type UnitBindings struct {
	Requisite, BindsTo, PartOf, Upholds []string
}

// UnitPropagation is the part of the [Unit] section that UnitSection embeds by pointer.
type UnitPropagation struct {
	OnFailure, OnSuccess                                                           []string
	OnFailureJobMode, OnSuccessJobMode                                             string // default "replace"
	PropagatesReloadTo, ReloadPropagatedFrom, PropagatesStopTo, StopPropagatedFrom []string
	JoinsNamespaceOf                                                               []string
}

// UnitSettings is the part of the [Unit] section that UnitSection embeds by pointer.
type UnitSettings struct {
	CollectMode                                      string        // inactive | inactive-or-failed
	FailureAction, SuccessAction                     string        // none default
	FailureActionExitStatus, SuccessActionExitStatus int           // -1 when unset
	JobTimeout, JobRunningTimeout                    time.Duration // 0 = infinity
	JobRunningTimeoutSet                             bool          // JobTimeoutSec= then leaves JobRunningTimeout alone
	JobTimeoutAction, JobTimeoutRebootArgument       string
	StartLimitInterval                               time.Duration // default 10s
	StartLimitBurst                                  int           // default 5
	StartLimitAction                                 string        // none
	RebootArgument                                   string
	SourcePath                                       string
	Conditions                                       []Condition // Condition* and Assert* in file order
}

// InstallSection is the [Install] section.
type InstallSection struct {
	Alias, WantedBy, RequiredBy, Also []string
	DefaultInstance                   string
}

// TargetSection is the (empty) [Target] section.
type TargetSection struct{}

// ListenKind is which Listen*= directive an address came from.
type ListenKind string

const (
	ListenStream           ListenKind = "ListenStream"
	ListenDatagram         ListenKind = "ListenDatagram"
	ListenSequentialPacket ListenKind = "ListenSequentialPacket"
	ListenFIFO             ListenKind = "ListenFIFO"
	ListenSpecial          ListenKind = "ListenSpecial"
	ListenNetlink          ListenKind = "ListenNetlink"
	ListenMessageQueue     ListenKind = "ListenMessageQueue"
	ListenUSBFunction      ListenKind = "ListenUSBFunction"
)

// AddressFamily of a socket address.
type AddressFamily string

const (
	FamilyUnix    AddressFamily = "unix"  // Path set; abstract when Path starts with '@'
	FamilyInet    AddressFamily = "inet"  // IPv4 address
	FamilyInet6   AddressFamily = "inet6" // IPv6 address, or port-only (Host empty)
	FamilyVsock   AddressFamily = "vsock"
	FamilyNetlink AddressFamily = "netlink"
	FamilyNone    AddressFamily = "" // FIFO, special file, message queue, USB function
)

// Listen is one parsed Listen*= value.
type Listen struct {
	Kind   ListenKind
	Family AddressFamily
	// Path for unix sockets ('@' first for abstract), FIFOs, special files, message queues.
	Path string
	// Host is the literal IP for inet/inet6 ("" for port-only: any address, dual-stack per
	// BindIPv6Only); Port the port; Interface the %dev suffix.
	Host      string
	Port      int
	Interface string
	// VsockCID/Port for vsock:CID:PORT (CID may be VMADDR_CID_ANY = 0xFFFFFFFF).
	VsockCID uint32
	// Netlink: family name and group.
	NetlinkFamily string
	NetlinkGroup  int
	// Raw is the address as `systemctl show -p Listen` prints it, before " (Stream)" (see ParseListen).
	Raw string
	Pos Pos // file:line
}

// SocketSection is the [Socket] section (systemd.socket(5)) with systemd's defaults. The
// parts most sockets leave at their defaults are structs it embeds by pointer (their fields
// read as the section's own, and encode in the same place), never nil once decoded: sockets
// that write none of one share a single value (decode_share.go), read only; copy it to
// change it.
type SocketSection struct {
	Listen []Listen
	*SocketBinding
	Accept       bool
	Writable     bool
	FlushPending bool
	*SocketOptions
	*SocketCommands
	// Exec is never nil once decoded. Sockets and services that set no exec setting share
	// one value (decode_share.go): read only; copy it to change it.
	Exec *ExecContext
	// Kill is never nil once decoded; sockets that set no kill setting share one value
	// (decode_share.go), read only.
	Kill *KillContext
	// service is the unit's SocketService(), set by Decode (the loader asks it of every
	// socket for every service it loads); "" until then.
	service string
}

// SocketBinding is the part of the [Socket] section that SocketSection embeds by pointer.
type SocketBinding struct {
	SocketProtocol          string // udplite | sctp | ""
	BindIPv6Only            string // default | both | ipv6-only
	Backlog                 uint32 // default 2147483647 as systemd 252 shows it (capped by somaxconn when used)
	BindToDevice            string
	SocketUser, SocketGroup string
	DirectoryMode           os.FileMode // 0755
	SocketMode              os.FileMode // 0666
}

// SocketCommands is the part of the [Socket] section that SocketSection embeds by pointer.
type SocketCommands struct {
	ExecStartPre, ExecStartPost, ExecStopPre, ExecStopPost []ExecCommand
	TimeoutSec                                             time.Duration // 90s
	Service                                                string        // explicit Service=, else "" (use SocketService())
	RemoveOnStop                                           bool
	Symlinks                                               []string
	FileDescriptorName                                     string        // "" = the socket unit's name
	TriggerLimitInterval                                   time.Duration // 2s
	TriggerLimitBurst                                      int           // 20 (Accept=no) / 200 (Accept=yes); -1 unset before defaults
	TriggerLimitCooldown                                   time.Duration // X-Flint-TriggerLimitCooldownSec=; 0: off
	PollLimitInterval                                      time.Duration
	PollLimitBurst                                         int
}

// SocketOptions is the part of the [Socket] section that SocketSection embeds by pointer.
type SocketOptions struct {
	MaxConnections                                                                  int // 64
	MaxConnectionsPerSource                                                         int // 0 = off
	KeepAlive                                                                       bool
	KeepAliveTime                                                                   time.Duration // 0 = kernel default
	KeepAliveInterval                                                               time.Duration
	KeepAliveProbes                                                                 int
	NoDelay                                                                         bool
	Priority                                                                        int // -1 unset
	DeferAcceptSec                                                                  time.Duration
	ReceiveBuffer, SendBuffer                                                       uint64 // 0 unset
	IPTOS, IPTTL                                                                    int    // -1 unset
	Mark                                                                            int    // -1 unset
	ReusePort                                                                       bool
	SmackLabel, SmackLabelIPIn, SmackLabelIPOut, SELinuxContextFromNet              string
	PipeSize                                                                        uint64
	MessageQueueMaxMessages, MessageQueueMessageSize                                int64
	FreeBind, Transparent, Broadcast, PassCredentials, PassSecurity, PassPacketInfo bool
	Timestamping                                                                    string // off | us | ns
	TCPCongestion                                                                   string
}

// ExecFlags are the prefixes of an Exec*= command line.
type ExecFlags struct {
	IgnoreFailure bool // '-'
	ArgvZero      bool // '@': Argv[0] is the program path, Argv[1:] the argv given to it
	NoEnvExpand   bool // ':'
	FullPrivilege bool // '+'
	NoSetuid      bool // '!'
	AmbientOnly   bool // '!!'
}

// ExecCommand is one parsed command line. Path is the program (absolute, or a bare name
// resolved at start as systemd does); Argv is argv as it will be passed (Argv[0] is the
// program name unless '@' gave another). $VAR and ${VAR} are kept unexpanded in Argv for
// expansion at start time (unless NoEnvExpand).
type ExecCommand struct {
	Path  string
	Argv  []string
	Flags ExecFlags
	Raw   string // the command line as written, specifiers expanded
	Pos   Pos
}

// ServiceType is Type= of a service.
type ServiceType string

const (
	Simple       ServiceType = "simple"
	Exec         ServiceType = "exec"
	Forking      ServiceType = "forking"
	Oneshot      ServiceType = "oneshot"
	Notify       ServiceType = "notify"
	NotifyReload ServiceType = "notify-reload"
	DBus         ServiceType = "dbus"
	Idle         ServiceType = "idle"
)

// ExitStatusSet is a set of exit codes and signals (SuccessExitStatus= etc.).
type ExitStatusSet struct {
	Codes   []int
	Signals []syscall.Signal
}

// ServiceSection is the [Service] section (systemd.service(5)) with systemd's defaults. The
// parts most services leave at their defaults are structs it embeds by pointer (their fields
// read as the section's own, and encode in the same place), never nil once decoded:
// services that write none of one share a single value (decode_share.go), read only; copy
// it to change it.
type ServiceSection struct {
	Type ServiceType
	*ServiceStartup
	ExecStart []ExecCommand
	*ServiceCommands
	*ServiceTimeouts
	// ServiceOptions are the exit status sets and the settings after them.
	*ServiceOptions
	// OOMPolicyDefault: OOMPolicy= was not set and is the default "stop", which a
	// manager's DefaultOOMPolicy= replaces (systemd's service_add_extras).
	OOMPolicyDefault bool `json:"-"`
	// Exec is never nil once decoded. Services that set no exec setting share one value
	// (decode_share.go): read only; copy it to change it.
	Exec                   *ExecContext
	runtimeRandomizedExtra time.Duration // RuntimeRandomizedExtra()
	// Kill is never nil once decoded; services that set no kill setting share one value
	// (decode_share.go), read only.
	Kill *KillContext
}

// ServiceStartup is the part of the [Service] section that ServiceSection embeds by pointer.
type ServiceStartup struct {
	ExitType                    string // main | cgroup
	RemainAfterExit             bool
	GuessMainPID                bool // true
	PIDFile                     string
	BusName                     string
	ExecCondition, ExecStartPre []ExecCommand
}

// ServiceCommands is the part of the [Service] section that ServiceSection embeds by
// pointer.
type ServiceCommands struct {
	ExecStartPost                      []ExecCommand
	ExecReload, ExecStop, ExecStopPost []ExecCommand
}

// ServiceTimeouts is the part of the [Service] section that ServiceSection embeds by
// pointer.
type ServiceTimeouts struct {
	RestartSec                                      time.Duration // 100ms
	TimeoutStartSec                                 time.Duration // 90s; 0 = infinity
	TimeoutStopSec                                  time.Duration // 90s; 0 = infinity
	TimeoutAbortSec                                 time.Duration // TimeoutStopSec; DurationInfinity = infinity, 0 = SIGKILL at once
	TimeoutStartFailureMode, TimeoutStopFailureMode string        // terminate
	RuntimeMaxSec                                   time.Duration // DurationInfinity (no limit); 0 is a limit of 0, as in systemd
	WatchdogSec                                     time.Duration // 0 = off; DurationInfinity = on (NotifyAccess=main) but never fires
	Restart                                         string        // no | always | on-success | on-failure | on-abnormal | on-abort | on-watchdog
	RestartMode                                     string
}

// ServiceOptions is the part of the [Service] section that ServiceSection embeds by pointer.
type ServiceOptions struct {
	SuccessExitStatus                          ExitStatusSet
	RestartPreventExitStatus                   ExitStatusSet
	RestartForceExitStatus                     ExitStatusSet
	RootDirectoryStartOnly                     bool
	PermissionsStartOnly                       bool // the control commands run as with '+'
	NonBlocking                                bool
	NotifyAccess                               string // none | main | exec | all; default none (main for notify)
	Sockets                                    []string
	FileDescriptorStoreMax                     int
	FileDescriptorStorePreserve                string
	USBFunctionDescriptors, USBFunctionStrings string
	OOMPolicy                                  string
}

// Rlimit is one Limit*= value; Infinity is RLIM_INFINITY.
type Rlimit struct {
	Resource int // syscall.RLIMIT_*
	Soft     uint64
	Hard     uint64
}

// Infinity for Rlimit values and sizes.
const Infinity = ^uint64(0)

// EnvironmentFile is one EnvironmentFile= entry.
type EnvironmentFile struct {
	Path     string
	Optional bool // '-' prefix
}

// Standard stream settings: "inherit", "null", "tty", "journal", "kmsg", "journal+console",
// "kmsg+console", "syslog", "socket", "fd" (named as the stream: stdin, stdout or stderr),
// "fd:NAME", "file:PATH", "append:PATH", "truncate:PATH",
// "data" (StandardInputText/Data).
type ExecContext struct {
	WorkingDirectory                                                                                            string // "" unset; "~" = home; leading '-' kept as optional flag below
	WorkingDirectoryOptional                                                                                    bool
	RootDirectory                                                                                               string
	User, Group                                                                                                 string
	SupplementaryGroups                                                                                         []string
	DynamicUser                                                                                                 bool
	UMask                                                                                                       os.FileMode // 0022
	Nice                                                                                                        int
	NiceSet                                                                                                     bool
	OOMScoreAdjust                                                                                              int
	OOMScoreAdjustSet                                                                                           bool
	Rlimits                                                                                                     []Rlimit
	Environment                                                                                                 []string // KEY=VALUE in order, later wins
	EnvironmentFiles                                                                                            []EnvironmentFile
	PassEnvironment                                                                                             []string
	UnsetEnvironment                                                                                            []string
	StandardInput                                                                                               string // null
	StandardOutput                                                                                              string // inherit (journal when StandardInput is not a tty/socket... default "journal")
	StandardError                                                                                               string // inherit
	StandardInputText                                                                                           string
	TTYPath                                                                                                     string
	SyslogIdentifier                                                                                            string
	RuntimeDirectory, StateDirectory, CacheDirectory, LogsDirectory, ConfigurationDirectory                     []string
	RuntimeDirectoryMode, StateDirectoryMode, CacheDirectoryMode, LogsDirectoryMode, ConfigurationDirectoryMode os.FileMode // 0755
	RuntimeDirectoryPreserve                                                                                    string      // no
	// The sandbox settings DynamicUser= implies (decode_sandbox.go).
	NoNewPrivileges, RemoveIPC, PrivateTmp, RestrictSUIDSGID bool
	ProtectSystem                                            string // no, yes, full, strict
	ProtectHome                                              string // no, yes, read-only, tmpfs
	// Resource control (internal/cgroup): decode_cgroup.go. Limits are bytes or counts with
	// 0 unset and Infinity "infinity"; a percentage is resolved against the machine at load.
	Slice                                                   string // "" for the default slice
	Delegate                                                bool
	DelegateControllers, DisableControllers                 []string
	CPUAccounting, MemoryAccounting, TasksAccounting        *bool
	IOAccounting                                            *bool
	MemoryMin, MemoryLow, MemoryHigh, MemoryMax             uint64
	MemorySwapMax, MemoryLimit, TasksMax                    uint64
	CPUWeight, CPUShares, IOWeight, BlockIOWeight           uint64
	CPUQuotaPerSec, CPUQuotaPeriod                          time.Duration
	AllowedCPUs, AllowedMemoryNodes                         string
	IODeviceWeight, IOReadBandwidthMax, IOWriteBandwidthMax []DeviceValue
	IOReadIOPSMax, IOWriteIOPSMax                           []DeviceValue
	// Startup holds the Startup*= settings, nil when none is set.
	Startup *StartupResources `json:",omitempty"`
	BPF     BPFContext        // decode_bpf.go

	// Scheduling, affinity, memory policy, SIGPIPE, search path, logging: decode_process.go.
	ProcessSettings

	// NotEnforced lists directives that were parsed and validated but that flint does not
	// enforce (sandboxing and the like), as "Key" in file order, for `analyze verify` and docs;
	// NotEnforcedValues holds the last value written for each, which `show` prints where
	// systemd's property is that value (properties_exec.go).
	NotEnforced       []string
	NotEnforcedValues map[string]string

	// Privileges and system calls (internal/sandbox), parsed by decode_privileges.go.
	CapabilityBoundingSet   sandbox.CapSet // Set false: every capability
	AmbientCapabilities     sandbox.CapSet
	SecureBits              int
	KeyringMode             string // "" unset: private for services, shared for others
	Personality             string // "" unset, else systemd's name ("x86", "x86-64")
	SystemCallFilter        sandbox.SyscallFilter
	SystemCallErrorNumber   int // 0 unset: sandbox.ErrnoKill
	SystemCallArchitectures []string
	SystemCallLog           sandbox.SyscallFilter
	RestrictAddressFamilies sandbox.Families
	RestrictNamespaces      uint64 // the namespace types retained, when RestrictNamespacesSet
	RestrictNamespacesSet   bool
	RestrictRealtime        bool
	LockPersonality         bool
	MemoryDenyWriteExecute  bool
	ProtectClock            bool
	ProtectKernelTunables   bool
	ProtectKernelModules    bool
	ProtectKernelLogs       bool
	// Security labels (exec_mac.go), with systemd's "-" prefix; "" unset.
	SELinuxContext, AppArmorProfile, SmackProcessLabel string

	// File system, namespaces, credentials (internal/sandbox/fs); ProtectKernelTunables=,
	// ProtectKernelModules= and ProtectKernelLogs= are in the block above, shared.
	PrivateDevices, PrivateNetwork, PrivateUsers, PrivateIPC                 bool
	PrivateMounts, PrivateMountsSet                                          bool // PrivateMountsSet: written (else implied by a network namespace)
	ProtectControlGroups, ProtectHostname                                    bool
	MountAPIVFS, MountAPIVFSSet                                              bool     // MountAPIVFSSet: written (else implied by RootDirectory=)
	ProtectProc, ProcSubset, MountFlags                                      string   // "" when not set
	ReadWritePaths, ReadOnlyPaths, InaccessiblePaths, ExecPaths, NoExecPaths []string // with systemd's "-" and "+" prefixes
	BindPaths                                                                []BindPath
	TemporaryFileSystem                                                      []TemporaryFileSystem
	NetworkNamespacePath, IPCNamespacePath                                   string
	Credentials                                                              []Credential      // LoadCredential*=, SetCredential*= in file order
	FSValues                                                                 map[string]string // the last value written of each, for show
}

// DeviceValue is a per-device resource setting (IODeviceWeight=, IOReadBandwidthMax=, ...): a
// device node or a file on the device, and a weight, bytes per second or operations per
// second (Infinity: no limit).
type DeviceValue struct {
	Path  string
	Value uint64
}

// KillContext is systemd.kill(5).
type KillContext struct {
	KillMode          string         // control-group | mixed | process | none
	KillSignal        syscall.Signal // SIGTERM
	RestartKillSignal syscall.Signal
	FinalKillSignal   syscall.Signal // SIGKILL
	WatchdogSignal    syscall.Signal // SIGABRT
	SendSIGKILL       bool           // true
	SendSIGHUP        bool
}
