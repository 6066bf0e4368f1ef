// Package propagation holds the pure decisions behind HNC's object
// propagation, as Canopy serves it:
//
//   - which mode each resource type has (ParseModes, from HNCConfiguration);
//   - whether an object may ever be copied (Config.Propagatable);
//   - whether a source reaches a given descendant, honouring the exception
//     annotations propagate.hnc.x-k8s.io/{select,treeSelect,none,all}
//     (ParseException, ShouldPropagateTo);
//   - which ancestor's source wins for a name (SelectSource: the top-most one
//     that propagates);
//   - what the copy looks like (MakeCopy), whether the copy already in the
//     descendant needs no update (Equivalent), and when a descendant's own
//     object is about to be overwritten (CheckConflict, FindConflicts).
//
// The propagation reconciler reads the source and the descendant's object,
// locks the forest to find the candidate sources and the descendant's
// labels, decides with these functions, unlocks and writes. Nothing here
// talks to the API server.
package propagation
