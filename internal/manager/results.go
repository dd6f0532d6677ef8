package manager

import "fmt"

// Result is a unit's result (Result=, systemd's ServiceResult, SocketResult, TimerResult and
// PathResult: one enum here, as their words are shared), and also how a control process or a
// reload ended. resultNone is no result: setResult records nothing for it.
type Result uint8

const (
	resultNone Result = iota
	resultSuccess
	resultResources
	resultProtocol
	resultTimeout
	resultExitCode
	resultSignal
	resultCoreDump
	resultWatchdog
	resultStartLimitHit
	resultOOMKill
	resultExecCondition
	resultTriggerLimitHit
	resultServiceStartLimitHit
	resultUnitStartLimitHit
	nResults
)

var resultNames = [nResults]string{
	resultNone:                 "",
	resultSuccess:              "success",
	resultResources:            "resources",
	resultProtocol:             "protocol",
	resultTimeout:              "timeout",
	resultExitCode:             "exit-code",
	resultSignal:               "signal",
	resultCoreDump:             "core-dump",
	resultWatchdog:             "watchdog",
	resultStartLimitHit:        "start-limit-hit",
	resultOOMKill:              "oom-kill",
	resultExecCondition:        "exec-condition",
	resultTriggerLimitHit:      "trigger-limit-hit",
	resultServiceStartLimitHit: "service-start-limit-hit",
	resultUnitStartLimitHit:    "unit-start-limit-hit",
}

func (r Result) String() string {
	if r < nResults {
		return resultNames[r]
	}
	return fmt.Sprintf("Result(%d)", uint8(r))
}

// setResult records result as u's unless an earlier failure did (systemd keeps the first
// failure's result); resultNone and resultSuccess record nothing.
func (u *Unit) setResult(result Result) {
	if result != resultNone && u.result == resultSuccess {
		u.result = result
	}
}
