package quota

import (
	"crypto/sha256"
	"encoding/hex"
)

const (
	// LabelSingleton marks the ResourceQuota singletons Canopy maintains; the
	// admission webhooks on resourcequotas select on it.
	LabelSingleton = "canopy.dev/quota-singleton"
	// LabelLedger marks the ledger ConfigMaps (value "true"); the tree's root
	// is the name after ledgerPrefix.
	LabelLedger = "canopy.dev/quota-ledger"
	// ledgerPrefix starts every ledger ConfigMap's name.
	ledgerPrefix = "quota-ledger-"
	// maxNameLen is the longest object name LedgerName produces.
	maxNameLen = 253
)

// LedgerName is the ConfigMap holding the ledger of the tree rooted at root.
// Namespace names are at most 63 characters, so the name always fits; a
// longer root (never a valid namespace) is hashed all the same so the
// function is total.
func LedgerName(root string) string {
	name := ledgerPrefix + root
	if len(name) <= maxNameLen {
		return name
	}
	sum := sha256.Sum256([]byte(root))
	return ledgerPrefix + hex.EncodeToString(sum[:16])
}

// IsSingleton reports whether a ResourceQuota with these labels is one of
// Canopy's singletons.
func IsSingleton(labels map[string]string) bool {
	return labels[LabelSingleton] == "true"
}
