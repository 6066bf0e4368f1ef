# The manager's image: a static binary on distroless, run as a non-root
# user. `make image` builds it. The go build line below must use the same
# environment and flags as `make build` (GO_BUILD_ENV and GO_BUILD_FLAGS in
# the Makefile); test/image checks that they agree.
FROM golang:1.26.8 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
COPY cmd/ cmd/
COPY dashboards/ dashboards/
COPY internal/ internal/
# Set by BuildKit for multi-platform builds; empty builds for the host.
ARG TARGETOS TARGETARCH
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH CGO_ENABLED=0 go build -trimpath -ldflags=-s -o /out/canopy-manager ./cmd/canopy-manager

# Pinned by tag; nonroot is uid 65532, and the image has no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/canopy-manager /canopy-manager
USER 65532:65532
ENTRYPOINT ["/canopy-manager"]
