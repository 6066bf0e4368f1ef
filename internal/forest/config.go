package forest

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

// DefaultExcludedNamespaces are never managed, whatever the flags say.
var DefaultExcludedNamespaces = []string{"kube-system", "kube-public", "kube-node-lease"}

// Options are the raw command-line settings that shape the forest. Compile
// turns them into a Config.
type Options struct {
	// ManagerNamespace is the namespace Canopy runs in; it is always excluded.
	ManagerNamespace string
	// ExcludedNamespaces are added to DefaultExcludedNamespaces
	// (--excluded-namespace).
	ExcludedNamespaces []string
	// IncludedNamespacesRegex, if set, limits the managed namespaces to those
	// whose whole name matches (--included-namespace-regex).
	IncludedNamespacesRegex string
	// ManagedLabels and ManagedAnnotations are the regexes that keys set in
	// spec.labels and spec.annotations must fully match
	// (--managed-namespace-label, --managed-namespace-annotation).
	ManagedLabels      []string
	ManagedAnnotations []string
}

// Config is the compiled, immutable form of Options. The zero Config excludes
// nothing and allows no managed metadata.
type Config struct {
	excluded           map[string]bool
	included           *regexp.Regexp
	managedLabels      []*regexp.Regexp
	managedAnnotations []*regexp.Regexp
}

// DefaultConfig excludes the built-in system namespaces and managerNamespace,
// includes every other namespace and allows no managed metadata.
func DefaultConfig(managerNamespace string) Config {
	cfg, _ := Options{ManagerNamespace: managerNamespace}.Compile()
	return cfg
}

// Compile validates the options and returns the Config. Every regex is
// anchored at both ends; managed metadata patterns may not match HNC's own
// domain.
func (o Options) Compile() (Config, error) {
	cfg := Config{excluded: map[string]bool{}}
	for _, nm := range DefaultExcludedNamespaces {
		cfg.excluded[nm] = true
	}
	if o.ManagerNamespace != "" {
		cfg.excluded[o.ManagerNamespace] = true
	}
	for _, nm := range o.ExcludedNamespaces {
		cfg.excluded[nm] = true
	}

	var errs []error
	if o.IncludedNamespacesRegex != "" {
		re, err := regexp.Compile("^(?:" + o.IncludedNamespacesRegex + ")$")
		if err != nil {
			errs = append(errs, fmt.Errorf("compiling --included-namespace-regex %q: %w", o.IncludedNamespacesRegex, err))
		}
		cfg.included = re
	}
	var err error
	if cfg.managedLabels, err = compileManaged("--managed-namespace-label", o.ManagedLabels); err != nil {
		errs = append(errs, err)
	}
	if cfg.managedAnnotations, err = compileManaged("--managed-namespace-annotation", o.ManagedAnnotations); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return cfg, nil
}

func compileManaged(flag string, patterns []string) ([]*regexp.Regexp, error) {
	var out []*regexp.Regexp
	var errs []error
	for _, p := range patterns {
		re, err := regexp.Compile("^(?:" + p + ")$")
		if err != nil {
			errs = append(errs, fmt.Errorf("compiling %s %q: %w", flag, p, err))
			continue
		}
		if re.MatchString(api.MetaGroup) {
			errs = append(errs, fmt.Errorf("%s %q must not match %q", flag, p, api.MetaGroup))
			continue
		}
		out = append(out, re)
	}
	return out, errors.Join(errs...)
}

// WhyExcluded returns why Canopy does not manage the namespace, or "" if it
// does. The empty name (no parent) counts as managed.
func (c Config) WhyExcluded(name string) string {
	switch {
	case name == "":
		return ""
	case c.excluded[name]:
		return "excluded by the administrator"
	case c.included != nil && !c.included.MatchString(name):
		return fmt.Sprintf("does not match the included-namespace regex %q", c.included.String())
	}
	return ""
}

// IsExcluded reports whether Canopy must leave the namespace alone.
func (c Config) IsExcluded(name string) bool { return c.WhyExcluded(name) != "" }

// ExcludedNames returns the explicitly excluded names, sorted.
func (c Config) ExcludedNames() []string {
	out := make([]string, 0, len(c.excluded))
	for nm := range c.excluded {
		out = append(out, nm)
	}
	sort.Strings(out)
	return out
}

// IsManagedLabel reports whether spec.labels may set the key.
func (c Config) IsManagedLabel(key string) bool { return matchAny(c.managedLabels, key) }

// IsManagedAnnotation reports whether spec.annotations may set the key.
func (c Config) IsManagedAnnotation(key string) bool { return matchAny(c.managedAnnotations, key) }

func matchAny(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// ValidateManagedLabels checks spec.labels of a HierarchyConfiguration or
// SubnamespaceAnchor: every key must be a legal label key allowed by
// --managed-namespace-label, every value a legal label value, no key twice.
func (c Config) ValidateManagedLabels(kvps []api.MetaKVP) error {
	return c.validateKVPs(kvps, "label", c.IsManagedLabel, func(k, v string) []string {
		return append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...)
	})
}

// ValidateManagedAnnotations is ValidateManagedLabels for spec.annotations;
// annotation values are free-form.
func (c Config) ValidateManagedAnnotations(kvps []api.MetaKVP) error {
	return c.validateKVPs(kvps, "annotation", c.IsManagedAnnotation, func(k, _ string) []string {
		return validation.IsQualifiedName(strings.ToLower(k))
	})
}

func (c Config) validateKVPs(kvps []api.MetaKVP, what string, managed func(string) bool, syntax func(k, v string) []string) error {
	var errs []error
	seen := map[string]bool{}
	for _, kvp := range kvps {
		if msgs := syntax(kvp.Key, kvp.Value); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("invalid managed %s %q=%q: %s", what, kvp.Key, kvp.Value, strings.Join(msgs, "; ")))
			continue
		}
		if !managed(kvp.Key) {
			errs = append(errs, fmt.Errorf("%s key %q is not allowed by --managed-namespace-%s", what, kvp.Key, what))
			continue
		}
		if seen[kvp.Key] {
			errs = append(errs, fmt.Errorf("managed %s key %q is set more than once", what, kvp.Key))
		}
		seen[kvp.Key] = true
	}
	return errors.Join(errs...)
}
