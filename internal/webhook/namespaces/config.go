// Package namespaces holds Canopy's admission webhooks for Namespace
// objects. Each webhook is a thin Handle around a pure decision function.
package namespaces

import (
	"fmt"
	"regexp"
	"slices"
)

// Config says which namespaces Canopy manages.
type Config struct {
	excluded []string
	included *regexp.Regexp
}

// NewConfig builds a Config from the excluded names and an optional include
// regex (anchored as HNC anchors it).
func NewConfig(excluded []string, includeRegex string) (Config, error) {
	c := Config{excluded: slices.Clone(excluded)}
	if includeRegex != "" {
		re, err := regexp.Compile("^(?:" + includeRegex + ")$")
		if err != nil {
			return Config{}, fmt.Errorf("included namespace regex %q: %w", includeRegex, err)
		}
		c.included = re
	}
	return c, nil
}

// Managed reports whether a namespace may take part in hierarchies.
func (c Config) Managed(name string) bool {
	if slices.Contains(c.excluded, name) {
		return false
	}
	return c.included == nil || c.included.MatchString(name)
}
