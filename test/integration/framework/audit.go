package framework

import (
	"os"
	"path/filepath"
)

// auditPolicy logs, at Request level, every write to a ResourceQuota and a
// ConfigMap, by any user, and each pod's creation and deletion at Metadata
// level, and nothing else: who wrote a quota singleton or a
// ledger while a test raced is what a failing quota test needs to tell.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Request
  verbs: ["create", "update", "patch", "delete"]
  resources:
  - group: ""
    resources: ["resourcequotas", "resourcequotas/status", "configmaps"]
- level: Metadata
  verbs: ["create", "delete"]
  resources:
  - group: ""
    resources: ["pods"]
- level: None
`

// auditArgs returns kube-apiserver flags that write the audit log above to
// dir/audit.log (CANOPY_TEST_AUDIT_DIR, for debugging; off by default).
func auditArgs(dir string) (map[string]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	policy := filepath.Join(dir, "audit-policy.yaml")
	if err := os.WriteFile(policy, []byte(auditPolicy), 0o600); err != nil {
		return nil, err
	}
	return map[string]string{
		"audit-policy-file": policy,
		"audit-log-path":    filepath.Join(dir, "audit.log"),
		"audit-log-format":  "json",
	}, nil
}
