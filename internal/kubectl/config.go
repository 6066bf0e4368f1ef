package kubectl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

// allModes are the synchronization modes, in the order help text lists them.
var allModes = []hncv1.SynchronizationMode{hncv1.Propagate, hncv1.Remove, hncv1.Ignore, hncv1.AllowPropagate}

// ParseMode accepts a synchronization mode in any letter case.
func ParseMode(s string) (hncv1.SynchronizationMode, error) {
	if s == "" {
		return "", errors.New("--mode is required: one of Propagate, Remove, Ignore, AllowPropagate")
	}
	for _, m := range allModes {
		if strings.EqualFold(s, string(m)) {
			return m, nil
		}
	}
	return "", fmt.Errorf("invalid --mode %q: must be one of Propagate, Remove, Ignore, AllowPropagate", s)
}

// getHNCConfig reads the cluster's HNCConfiguration, or returns an unsaved
// one when there is none.
func getHNCConfig(ctx context.Context, c client.Client) (*hncv1.HNCConfiguration, error) {
	cfg := &hncv1.HNCConfiguration{}
	err := c.Get(ctx, types.NamespacedName{Name: hncv1.HNCConfigSingleton}, cfg)
	if apierrors.IsNotFound(err) {
		cfg = &hncv1.HNCConfiguration{}
		cfg.Name = hncv1.HNCConfigSingleton
		return cfg, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the HNC configuration: %w", err)
	}
	return cfg, nil
}

func writeHNCConfig(ctx context.Context, c client.Client, cfg *hncv1.HNCConfiguration) error {
	var err error
	if cfg.ResourceVersion == "" {
		err = c.Create(ctx, cfg)
	} else {
		err = c.Update(ctx, cfg)
	}
	if err != nil {
		return fmt.Errorf("could not update the HNC configuration: %w", err)
	}
	return nil
}

// ConfigDescribe prints the synchronized types and the configuration's
// conditions, or the HNCConfiguration itself with -o yaml|json.
func ConfigDescribe(ctx context.Context, c client.Client, w io.Writer, out Output) error {
	cfg, err := getHNCConfig(ctx, c)
	if err != nil {
		return err
	}
	if out != OutputHuman {
		return printObjects(w, c.Scheme(), out, true, cfg)
	}
	var b strings.Builder
	b.WriteString("Synchronized resources:\n")
	for _, r := range cfg.Status.Resources {
		var action string
		switch r.Mode {
		case hncv1.Propagate:
			action = "Propagating"
		case hncv1.Remove:
			action = "Removing"
		case hncv1.AllowPropagate:
			action = "AllowPropagate"
		default:
			action = "Ignoring"
		}
		fmt.Fprintf(&b, "* %s: %s (%s/%s)", action, r.Resource, r.Group, r.Version)
		if r.NumPropagatedObjects != nil || r.NumSourceObjects != nil {
			fmt.Fprintf(&b, " - %s propagated, %s source objects", countOrDash(r.NumPropagatedObjects), countOrDash(r.NumSourceObjects))
		}
		b.WriteString("\n")
	}
	b.WriteString("\nConditions:\n")
	for _, cond := range cfg.Status.Conditions {
		fmt.Fprintf(&b, "%s (%s): %s\n", cond.Type, cond.Reason, cond.Message)
	}
	_, err = io.WriteString(w, b.String())
	return err
}

func countOrDash(n *int) string {
	if n == nil {
		return "-"
	}
	return fmt.Sprint(*n)
}

// SetResourceOptions configure how one type is synchronized.
type SetResourceOptions struct {
	Group    string
	Resource string
	Mode     string
	// Force allows going straight from Ignore to Propagate or
	// AllowPropagate, which may overwrite objects in descendants.
	Force bool
}

// ConfigSetResource sets the synchronization mode of one type in the
// HNCConfiguration, creating the configuration if needed.
func ConfigSetResource(ctx context.Context, c client.Client, w io.Writer, o SetResourceOptions) error {
	if o.Resource == "" {
		return errors.New("the resource to configure (RESOURCE) must not be empty")
	}
	mode, err := ParseMode(o.Mode)
	if err != nil {
		return err
	}
	spec := hncv1.ResourceSpec{Group: o.Group, Resource: o.Resource, Mode: mode}
	if hncv1.IsEnforcedType(spec) && mode != hncv1.Propagate {
		return fmt.Errorf("--mode %s: %s.%s are always propagated and their mode cannot be changed", mode, o.Resource, o.Group)
	}
	cfg, err := getHNCConfig(ctx, c)
	if err != nil {
		return err
	}
	found := false
	for i := range cfg.Spec.Resources {
		r := &cfg.Spec.Resources[i]
		if r.Group != o.Group || r.Resource != o.Resource {
			continue
		}
		if r.Mode == hncv1.Ignore && (mode == hncv1.Propagate || mode == hncv1.AllowPropagate) && !o.Force {
			return fmt.Errorf("switching directly from 'Ignore' to '%s' mode could cause existing %q objects in "+
				"child namespaces to be overwritten by objects from ancestor namespaces; if you are sure, use --force, "+
				"or switch to 'Remove' first to see which objects would be overwritten", mode, o.Resource)
		}
		r.Mode = mode
		found = true
		break
	}
	if !found {
		cfg.Spec.Resources = append(cfg.Spec.Resources, spec)
	}
	if err := writeHNCConfig(ctx, c, cfg); err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "Configuration for type with group: %s, resource: %s is set to %s\n", o.Group, o.Resource, mode)
	return err
}

// ConfigDeleteType removes one type's entry from the HNCConfiguration.
func ConfigDeleteType(ctx context.Context, c client.Client, w io.Writer, group, resource string) error {
	if resource == "" {
		return errors.New("--resource is required")
	}
	cfg, err := getHNCConfig(ctx, c)
	if err != nil {
		return err
	}
	kept := make([]hncv1.ResourceSpec, 0, len(cfg.Spec.Resources))
	for _, r := range cfg.Spec.Resources {
		if r.Group != group || r.Resource != resource {
			kept = append(kept, r)
		}
	}
	if len(kept) == len(cfg.Spec.Resources) {
		_, err := fmt.Fprintf(w, "Nothing to delete; No configuration for type with group: %s, resource: %s\n", group, resource)
		return err
	}
	cfg.Spec.Resources = kept
	if err := writeHNCConfig(ctx, c, cfg); err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "Configuration for type with group: %s, resource: %s is deleted\n", group, resource)
	return err
}
