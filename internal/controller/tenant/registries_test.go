package tenant

import (
	"strings"
	"testing"
)

func TestNormalizeRegistryEntry(t *testing.T) {
	for entry, want := range map[string]string{
		"registry.example.com":           "registry.example.com",
		"registry.example.com/":          "registry.example.com/",
		"registry.example.com/payments/": "registry.example.com/payments/",
		"registry.example.com/payments":  "registry.example.com/payments",
		"localhost:5000":                 "localhost:5000",
		"nginx":                          "docker.io/library/nginx",
		"bitnami/":                       "docker.io/bitnami/",
		"bitnami/redis":                  "docker.io/bitnami/redis",
		"docker.io":                      "docker.io",
		"docker.io/nginx":                "docker.io/library/nginx",
		"index.docker.io/library/nginx":  "docker.io/library/nginx",
		" quay.io/team/ ":                "quay.io/team/",
	} {
		name, below := NormalizeRegistryEntry(entry)
		if below {
			name += "/"
		}
		if name != want {
			t.Errorf("NormalizeRegistryEntry(%q) = %q, want %q", entry, name, want)
		}
	}
}

func TestNormalizeImage(t *testing.T) {
	for image, want := range map[string]string{
		"nginx":      "docker.io/library/nginx",
		"nginx:1.27": "docker.io/library/nginx",
		"nginx@sha256:" + strings.Repeat("a", 64): "docker.io/library/nginx",
		"bitnami/redis:7":                         "docker.io/bitnami/redis",
		"docker.io/nginx":                         "docker.io/library/nginx",
		"index.docker.io/library/nginx:1":         "docker.io/library/nginx",
		"registry.example.com:5000/x/y:2":         "registry.example.com:5000/x/y",
		"localhost/app":                           "localhost/app",
		"Registry/app":                            "Registry/app",
		"registry.example.com/a:1@sha256:00":      "registry.example.com/a",
	} {
		if got := NormalizeImage(image); got != want {
			t.Errorf("NormalizeImage(%q) = %q, want %q", image, got, want)
		}
	}
}

func TestRegistryAllows(t *testing.T) {
	entries := []string{"registry.example.com", "nginx", "bitnami/", "quay.io/team/"}
	for image, want := range map[string]bool{
		"registry.example.com/team/app:1":  true,
		"registry.example.com.evil.io/x:1": false,
		"registry.example.computer/x":      false,
		"registry.example.com:5000/x":      false,
		"nginx:1.27":                       true,
		"docker.io/library/nginx":          true,
		"nginx-evil":                       false,
		"nginxevil/x":                      false,
		"bitnami/redis":                    true,
		"bitnamievil/redis":                false,
		"quay.io/team/app":                 true,
		"quay.io/team":                     false,
		"quay.io/teamevil/app":             false,
	} {
		if got := RegistryAllows(entries, image); got != want {
			t.Errorf("RegistryAllows(%q) = %v, want %v", image, got, want)
		}
	}
}
