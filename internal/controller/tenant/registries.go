package tenant

import (
	"fmt"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Registry allow-list entries and images are compared as normalised image
// names, the way the container runtime resolves them:
//
//   - a tag and a digest are not part of the name (registry.example.com/app:1
//     and registry.example.com/app@sha256:... are registry.example.com/app);
//   - a first path component that holds a '.' or a ':', is "localhost", or
//     has an upper-case letter is a registry host; otherwise the name is on
//     Docker Hub: nginx is docker.io/library/nginx, bitnami/redis is
//     docker.io/bitnami/redis, and index.docker.io is docker.io.
//
// An entry allows its own name and everything below it at a '/' boundary:
// registry.example.com allows registry.example.com/x, never
// registry.example.com.evil.io/x or registry.example.com:5000/x; nginx
// allows docker.io/library/nginx (any tag), never nginx-evil. An entry
// ending in '/' allows only what is below it: quay.io/team/ allows
// quay.io/team/app, not an image named quay.io/team.

// dockerHub is Docker Hub's canonical registry name.
const dockerHub = "docker.io"

// isRegistryHost reports whether the first component of an image name is a
// registry host rather than a Docker Hub namespace.
func isRegistryHost(first string) bool {
	return strings.ContainsAny(first, ".:") || first == "localhost" || strings.ToLower(first) != first
}

// NormalizeRegistryEntry returns the normalised name an allow-list entry
// stands for, and whether it allows only what is below that name (it ended
// in '/').
func NormalizeRegistryEntry(entry string) (name string, below bool) {
	e := strings.TrimSpace(entry)
	below = strings.HasSuffix(e, "/")
	e = strings.TrimRight(e, "/")
	first, rest, hasPath := strings.Cut(e, "/")
	switch {
	case !isRegistryHost(first) && !hasPath && !below:
		// A bare short name is an official image.
		return dockerHub + "/library/" + e, below
	case !isRegistryHost(first):
		return dockerHub + "/" + e, below
	}
	if first == "index."+dockerHub {
		first = dockerHub
	}
	if first == dockerHub && hasPath && !strings.Contains(rest, "/") && !below {
		rest = "library/" + rest
	}
	if !hasPath {
		return first, below
	}
	return first + "/" + rest, below
}

// NormalizeImage is the normalised name of an image reference (tag and
// digest dropped), as the allow-list's CEL computes it.
func NormalizeImage(image string) string {
	n := image
	if i := strings.Index(n, "@"); i >= 0 {
		n = n[:i]
	}
	if c := strings.LastIndex(n, ":"); c > strings.LastIndex(n, "/") {
		n = n[:c]
	}
	first, _, hasPath := strings.Cut(n, "/")
	switch {
	case !hasPath:
		return dockerHub + "/library/" + n
	case !isRegistryHost(first):
		n = dockerHub + "/" + n
	case first == "index."+dockerHub:
		n = dockerHub + n[len(first):]
	}
	if rest, ok := strings.CutPrefix(n, dockerHub+"/"); ok && !strings.Contains(rest, "/") {
		n = dockerHub + "/library/" + rest
	}
	return n
}

// RegistryAllows reports whether an image is allowed by entries, exactly
// as the generated CEL decides.
func RegistryAllows(entries []string, image string) bool {
	exact, prefixes := registryMatchers(entries)
	n := NormalizeImage(image)
	for _, e := range exact {
		if n == e {
			return true
		}
	}
	for _, p := range prefixes {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	return false
}

// registryMatchers turns entries into the names an image may equal and the
// prefixes (each ending in '/') it may start with.
func registryMatchers(entries []string) (exact, prefixes []string) {
	for _, e := range entries {
		name, below := NormalizeRegistryEntry(e)
		if !below {
			exact = append(exact, name)
		}
		prefixes = append(prefixes, name+"/")
	}
	return exact, prefixes
}

// celNormalizeImage is a CEL expression for the normalised name of the
// image expression x, by the same steps as NormalizeImage: drop the
// digest, drop the tag, put a name without a registry host on Docker Hub,
// and spell Docker Hub's official images in full. Each step maps a
// one-element list, CEL's way of naming an intermediate value.
func celNormalizeImage(x string) string {
	first := "n.substring(0, n.indexOf('/'))"
	isHost := fmt.Sprintf("(%[1]s.contains('.') || %[1]s.contains(':') || %[1]s == 'localhost' || %[1]s.lowerAscii() != %[1]s)", first)
	return "[" + x + "]" +
		".map(n, n.indexOf('@') >= 0 ? n.substring(0, n.indexOf('@')) : n)" +
		".map(n, n.lastIndexOf(':') > n.lastIndexOf('/') ? n.substring(0, n.lastIndexOf(':')) : n)" +
		".map(n, n.indexOf('/') < 0 ? 'docker.io/library/' + n : !" + isHost + " ? 'docker.io/' + n : " +
		"n.startsWith('index.docker.io/') ? 'docker.io' + n.substring(15) : n)" +
		".map(n, n.startsWith('docker.io/') && n.substring(10).indexOf('/') < 0 ? 'docker.io/library/' + n.substring(10) : n)[0]"
}

// registryValidation is the allow-list's CEL validation.
func registryValidation(tenant string, entries []string) admissionv1.Validation {
	exact, prefixes := registryMatchers(entries)
	ok := fmt.Sprintf("[%s].all(n, n in %s || %s.exists(r, n.startsWith(r)))", celNormalizeImage("i"), celList(exact), celList(prefixes))
	return admissionv1.Validation{
		Expression: fmt.Sprintf("variables.images.all(i, %s)", ok),
		MessageExpression: fmt.Sprintf("'tenant %s: image(s) ' + variables.images.filter(i, !%s).join(', ') + ' not from an allowed registry (allowed: %s; matched at a / boundary, short names on docker.io)'",
			tenant, ok, strings.Join(entries, ", ")),
		Reason: ptr(metav1.StatusReasonForbidden),
	}
}
