package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
)

// Exit codes (spec §2). They are mapped from errors in one place, ExitCode.
const (
	ExitOK          = 0   // everything succeeded
	ExitError       = 1   // the command could not do its job
	ExitChanges     = 2   // --exit-code: the plan is not empty
	ExitPartial     = 3   // ran to the end, but a list or an image failed
	ExitLocked      = 75  // --lock-file is held by another run (EX_TEMPFAIL)
	ExitInterrupted = 130 // SIGINT
	ExitTerminated  = 143 // SIGTERM
)

// ExitCodesHelp is the table printed in every command's --help.
const ExitCodesHelp = `Exit codes:
  0    success (verify: every list valid)
  1    the command could not do its job (bad flags or config, auth failure, Glance unreachable)
  2    diff --exit-code / sync --dry-run --exit-code: the plan is not empty
  3    ran to the end but something failed (a list invalid, expired or unreachable, an image failed)
  75   --lock-file is held by another run
  130  interrupted by SIGINT (143: SIGTERM), after cleaning up`

// UsageError is a bad flag, argument or configuration value. It names the
// flag (or file) so the operator knows what to fix.
type UsageError struct {
	Flag   string // e.g. "--output"; may be empty for positional arguments
	Reason string
}

func (e *UsageError) Error() string {
	if e.Flag == "" {
		return e.Reason
	}
	return e.Flag + ": " + e.Reason
}

// PartialError says the run reached its end but some lists or images failed;
// the details were already printed in the command's output.
type PartialError struct{ Summary string }

func (e *PartialError) Error() string { return e.Summary }

// ChangesError reports a non-empty plan under --exit-code.
type ChangesError struct{ Count int }

func (e *ChangesError) Error() string { return fmt.Sprintf("the plan has %d change(s)", e.Count) }

// LockedError says another run holds the lock file.
type LockedError struct{ Path string }

func (e *LockedError) Error() string {
	return "another ck run holds the lock " + e.Path + "; not starting"
}

// SignalError records the signal that interrupted the run.
type SignalError struct{ Signal os.Signal }

func (e *SignalError) Error() string { return "interrupted by " + e.Signal.String() }

// ExitCode maps an error returned by a command to the process exit code.
func ExitCode(err error) int {
	var (
		partial *PartialError
		changes *ChangesError
		locked  *LockedError
		sig     *SignalError
	)
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &sig):
		if sig.Signal == syscall.SIGTERM {
			return ExitTerminated
		}
		return ExitInterrupted
	case errors.As(err, &locked):
		return ExitLocked
	case errors.As(err, &changes):
		return ExitChanges
	case errors.As(err, &partial):
		return ExitPartial
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	default:
		return ExitError
	}
}

// IsSilent reports whether the error was already explained in the command's
// output, so the top level should not print it again.
func IsSilent(err error) bool {
	var (
		partial *PartialError
		changes *ChangesError
	)
	return errors.As(err, &partial) || errors.As(err, &changes)
}
