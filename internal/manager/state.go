package manager

// ActiveState is systemd's high-level unit state.
type ActiveState string

const (
	Inactive     ActiveState = "inactive"
	Activating   ActiveState = "activating"
	Active       ActiveState = "active"
	Deactivating ActiveState = "deactivating"
	Reloading    ActiveState = "reloading"
	Failed       ActiveState = "failed"
)

// serviceActive maps a service substate to its ActiveState (systemd's state_translation_table).
var serviceActive = map[string]ActiveState{
	"dead":           Inactive,
	"condition":      Activating,
	"start-pre":      Activating,
	"start":          Activating,
	"start-post":     Activating,
	"running":        Active,
	"exited":         Active,
	"reload":         Reloading,
	"stop":           Deactivating,
	"stop-watchdog":  Deactivating,
	"stop-sigterm":   Deactivating,
	"stop-sigkill":   Deactivating,
	"stop-post":      Deactivating,
	"final-watchdog": Deactivating,
	"final-sigterm":  Deactivating,
	"final-sigkill":  Deactivating,
	"failed":         Failed,
	"auto-restart":   Activating,
}

// socketActive maps a socket substate to its ActiveState.
var socketActive = map[string]ActiveState{
	"dead":             Inactive,
	"start-pre":        Activating,
	"start-chown":      Activating,
	"start-post":       Activating,
	"listening":        Active,
	"running":          Active,
	"stop-pre":         Deactivating,
	"stop-pre-sigterm": Deactivating,
	"stop-pre-sigkill": Deactivating,
	"stop-post":        Deactivating,
	"final-sigterm":    Deactivating,
	"final-sigkill":    Deactivating,
	"failed":           Failed,
}

var targetActive = map[string]ActiveState{
	"dead":   Inactive,
	"active": Active,
}

func isInactiveOrFailed(s ActiveState) bool  { return s == Inactive || s == Failed }
func isActiveOrReloading(s ActiveState) bool { return s == Active || s == Reloading }
