// Package root assembles ck's command tree and runs it: global flags and
// their environment/config sources, logging, the lock file, signals, and
// the mapping of errors to exit codes.
package root

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ck-sync/ck/pkg/cli/cmdutil"
	"github.com/ck-sync/ck/pkg/cli/diff"
	"github.com/ck-sync/ck/pkg/cli/fetch"
	"github.com/ck-sync/ck/pkg/cli/prune"
	synccmd "github.com/ck-sync/ck/pkg/cli/sync"
	"github.com/ck-sync/ck/pkg/cli/verify"
	"github.com/ck-sync/ck/pkg/cli/version"
)

// NewCmd builds the root command around f. Tests call it with test streams.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	var release func()
	cmd := &cobra.Command{
		Use:   "ck",
		Short: "Keep Glance in sync with signed HEPiX image lists",
		Long: `ck keeps the virtual-machine images a site subscribes to, through signed HEPiX
image lists (as EGI AppDB publishes them), in sync with the site's OpenStack Glance.
It runs, does its work and exits: run it by hand, from a systemd timer or cron,
or in a CI pipeline.

Every global flag can also be set with an environment variable CK_<NAME>
(--ca-dir: CK_CA_DIR) or a key of the YAML file --config (ca-dir: ...);
precedence is flag > environment > file > default.

` + cmdutil.ExitCodesHelp,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if isCompletion(cmd) {
				return nil
			}
			if err := cmdutil.ApplyEnvAndConfig(cmd.Root().PersistentFlags(), cmd.LocalNonPersistentFlags(), settings(cmd.Root()), f.Globals, f.Getenv); err != nil {
				return err
			}
			if err := f.Globals.Validate(); err != nil {
				return err
			}
			logger, err := cmdutil.NewLogger(f.IO.ErrOut, f.Globals)
			if err != nil {
				return err
			}
			f.Logger = logger
			if f.Globals.LockFile != "" {
				if release, err = cmdutil.Lock(f.Globals.LockFile); err != nil {
					return err
				}
			}
			// After the lock: a run turned away by it leaves the metrics of
			// the run that holds it alone.
			f.StartMetrics(cmd.Name())
			return nil
		},
		PersistentPostRun: func(*cobra.Command, []string) {
			if release != nil {
				release()
			}
		},
	}
	cmdutil.BindGlobals(cmd.PersistentFlags(), f.Globals)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &cmdutil.UsageError{Reason: err.Error()}
	})
	cmd.SetOut(f.IO.Out)
	cmd.SetErr(f.IO.ErrOut)
	cmd.AddCommand(
		fetch.NewCmd(f, nil),
		verify.NewCmd(f, nil),
		diff.NewCmd(f, nil),
		synccmd.NewCmd(f, nil),
		prune.NewCmd(f, nil),
		version.NewCmd(f),
	)
	cmd.CompletionOptions.HiddenDefaultCmd = false
	return cmd
}

func isCompletion(cmd *cobra.Command) bool {
	for c := cmd; c != nil; c = c.Parent() {
		if c.Name() == "completion" || c.Name() == cobra.ShellCompRequestCmd || c.Name() == cobra.ShellCompNoDescRequestCmd {
			return true
		}
	}
	return false
}

// Main runs ck with the process's arguments, streams and signals, and
// returns the exit code.
func Main() int {
	red := &cmdutil.Redactor{}
	f := &cmdutil.Factory{
		IO:       cmdutil.System(red),
		Globals:  &cmdutil.Globals{},
		Redactor: red,
		Now:      time.Now,
		Getenv:   os.Getenv,
	}
	ctx, stop := withSignals(context.Background())
	defer stop()
	return Run(ctx, f, os.Args[1:])
}

// Run executes the command line args with f and returns the exit code,
// printing the error (once, redacted) when there is one.
func Run(ctx context.Context, f *cmdutil.Factory, args []string) int {
	cmd := NewCmd(f)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	if err != nil && ctx.Err() != nil {
		if sig := signalOf(ctx); sig != nil {
			err = &cmdutil.SignalError{Signal: sig}
		}
	}
	if err != nil && !cmdutil.IsSilent(err) {
		fmt.Fprintln(f.IO.ErrOut, "ck: "+f.Redactor.Redact(err.Error()))
		var usage *cmdutil.UsageError
		if errors.As(err, &usage) {
			fmt.Fprintln(f.IO.ErrOut, "Run 'ck --help' for usage.")
		}
	}
	code := cmdutil.ExitCode(err)
	if err := f.WriteMetrics(code); err != nil {
		fmt.Fprintln(f.IO.ErrOut, "ck: "+err.Error())
		if code == cmdutil.ExitOK {
			code = cmdutil.ExitError
		}
	}
	return code
}

type signalKey struct{}

// withSignals cancels the context on SIGINT or SIGTERM and remembers which
// one arrived, so the exit code can say it (130 or 143).
func withSignals(parent context.Context) (context.Context, func()) {
	var got os.Signal
	holder := &got
	ctx, cancel := context.WithCancel(context.WithValue(parent, signalKey{}, holder))
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		select {
		case s := <-ch:
			*holder = s
			cancel()
			// A second signal is the operator insisting: let it end ck
			// at once, the default way, instead of waiting for cleanup.
			signal.Stop(ch)
		case <-ctx.Done():
		}
	}()
	return ctx, func() { signal.Stop(ch); cancel() }
}

func signalOf(ctx context.Context) os.Signal {
	if h, ok := ctx.Value(signalKey{}).(*os.Signal); ok {
		return *h
	}
	return nil
}

// perRun are command flags that say what one invocation does, not how a
// site is set up: never taken from CK_* variables or the config file.
var perRun = map[string]bool{"plan": true, "out": true, "save": true, "dry-run": true, "exit-code": true, "help": true}

// settings reports whether name is a setting of some ck command (a local
// flag that is not perRun), which CK_<NAME> and the config file may set.
func settings(root *cobra.Command) func(string) bool {
	names := map[string]bool{}
	for _, c := range root.Commands() {
		c.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
			if !perRun[f.Name] && !f.Hidden {
				names[f.Name] = true
			}
		})
	}
	return func(name string) bool { return names[name] }
}
