package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/runj-go/runj-go/bundle"
	"github.com/runj-go/runj-go/jailspec"
	"github.com/runj-go/runj-go/oci/rctl"
)

func (a *app) bundleCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bundle",
		Short: "make OCI bundles",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(a.bundleCreateCommand())
	return cmd
}

func (a *app) bundleCreateCommand() *cobra.Command {
	var image, platform string
	var force bool
	cmd := &cobra.Command{
		Use:   "create --image DIR[:TAG|@DIGEST] [--platform OS/ARCH[/VARIANT]] [--force] BUNDLE",
		Short: "make a bundle from an image in an OCI image layout",
		Long: `Unpacks the layers of the image's manifest for --platform into
BUNDLE/rootfs, verifying every blob's digest and size, and writes
BUNDLE/config.json from the image configuration on top of the defaults of
'runj-go spec'. BUNDLE is created if needed; a non-empty BUNDLE is replaced
only with --force. A refused or failed image, or an interrupt (SIGINT,
SIGTERM), leaves BUNDLE as it was. Image labels that runj-go would obey as
annotations (org.freebsd.jail.*, org.freebsd.parentJail, org.freebsd.rctl)
are dropped with a warning.`,
		Args: exactArgs(1, "bundle directory"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if image == "" {
				return errors.New("bundle create: --image is required")
			}
			ref, err := bundle.ParseImageRef(image)
			if err != nil {
				return fmt.Errorf("--image: %w", err)
			}
			opts := bundle.ImageOptions{Force: force, RuntimeAnnotations: obeyedAnnotations()}
			if platform != "" {
				if opts.Platform, err = bundle.ParsePlatform(platform); err != nil {
					return fmt.Errorf("--platform: %w", err)
				}
			}
			// Stopped by a signal, CreateFromImageContext removes what it
			// made: a killed runj-go would leave a partial bundle.
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			img, err := bundle.CreateFromImageContext(ctx, args[0], ref, opts, a.log)
			if ctx.Err() != nil && errors.Is(err, context.Cause(ctx)) {
				a.log.WithError(err).Debug("bundle create stopped")
				return fmt.Errorf("bundle create: %v: stopped; %s is left as it was", context.Cause(ctx), args[0])
			}
			if errors.Is(err, bundle.ErrBundleNotEmpty) {
				return fmt.Errorf("%w; use --force to replace its contents", err)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created bundle %s from %s (manifest %s, %s)\n", args[0], ref, img.Manifest, img.Platform)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&image, "image", "", "the image: an OCI image layout directory, with :TAG or @DIGEST")
	f.StringVar(&platform, "platform", "", "OS/ARCH[/VARIANT] of the manifest to use (default freebsd/"+bundle.DefaultPlatform().Architecture+")")
	f.BoolVarP(&force, "force", "f", false, "replace the contents of a non-empty bundle directory")
	return cmd
}

// obeyedAnnotations are the annotations runj-go obeys, from the tables
// that create and 'runj-go features' use: an image's labels with these
// keys are not copied into its bundle.
func obeyedAnnotations() []string {
	return append(jailspec.Annotations(), rctl.Annotation)
}
