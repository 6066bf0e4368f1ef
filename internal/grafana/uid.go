package grafana

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// MaxUIDLength is Grafana's limit on folder, dashboard and datasource UIDs.
const MaxUIDLength = 40

// uidHashLength is how many hex digits of SHA-256 a shortened UID keeps:
// 64 bits, so a collision needs billions of names in one organization.
const uidHashLength = 16

// UID derives a Grafana UID from parts, joined by "_". Canopy's names are
// DNS labels, which never contain "_", so distinct part lists give distinct
// joined strings. The result is stable
// across runs and processes, at most MaxUIDLength characters, and uses only
// [a-zA-Z0-9-_]: every other character becomes "_". A name that does not
// fit keeps a readable prefix and ends in a hash of the whole, unsanitised
// input, so two long names that differ only past the cut, or only in
// characters sanitising would merge, still get different UIDs.
func UID(parts ...string) string {
	joined := strings.Join(parts, "_")
	clean := sanitize(joined)
	if clean == joined && len(clean) <= MaxUIDLength {
		return clean
	}
	sum := sha256.Sum256([]byte(joined))
	suffix := hex.EncodeToString(sum[:])[:uidHashLength]
	keep := MaxUIDLength - uidHashLength - 1
	if len(clean) < keep {
		keep = len(clean)
	}
	return clean[:keep] + "-" + suffix
}

// ValidUID reports whether uid is a UID Grafana accepts.
func ValidUID(uid string) bool {
	if uid == "" || len(uid) > MaxUIDLength {
		return false
	}
	return sanitize(uid) == uid
}

func sanitize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			b.WriteByte(c)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// Names of the objects Canopy manages. Keeping every naming rule here makes
// teardown and pruning find exactly what a sync created.

// DatasourceUID is the tenant's Prometheus datasource.
func DatasourceUID(tenant string) string { return UID("canopy", "ds", tenant) }

// FolderUID is a team's folder. Folders and dashboards share one UID space
// in Grafana, hence the distinct kind prefixes.
func FolderUID(tenant, team string) string { return UID("canopy", "f", tenant, team) }

// DashboardUID is one dashboard of a team, named as in dashboards.Names.
// A ".json" suffix is ignored, so UIDs made when the dashboards were JSON
// templates ("team-cost.json") stay the same.
func DashboardUID(tenant, team, name string) string {
	return UID("canopy", "d", tenant, team, strings.TrimSuffix(name, ".json"))
}

// TeamName is the Grafana team of a tenant's team. The tenant prefix lets a
// sync prune the teams it made and nothing else, even in a shared org.
func TeamName(tenant, team string) string { return tenant + "/" + team }
