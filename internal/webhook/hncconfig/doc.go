// Package hncconfig is the validating webhook for HNC's HNCConfiguration:
// the object must be named "config", may not list Roles or RoleBindings
// (always propagated), and may not switch a type to Propagate or
// AllowPropagate while sources of that type would overwrite descendants'
// own objects (the conflicts are listed in the message).
//
// Conflicts are found from the sources recorded in the forest, so they are
// known only for types Canopy already watches (in any mode but Ignore); a
// type that was never configured has no recorded sources yet. The
// propagation reconciler still never overwrites such objects, and reports
// them with CannotPropagateObject events.
package hncconfig
