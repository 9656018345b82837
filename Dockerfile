# Polyhook's container image: a static binary (no cgo: the SQLite driver is pure Go) on
# distroless, running as the unprivileged "nonroot" user (65532).
#
#   docker build --build-arg VERSION=$(git describe --tags --always) --build-arg REVISION=$(git rev-parse HEAD) -t polyhook .
#   docker run -p 8080:8080 -v polyhook-data:/data polyhook
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=""
ARG REVISION=""
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION} -X main.revision=${REVISION}" -o /out/polyhook . \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/polyhook /polyhook
# The SQLite database lives in /data (a volume); with POLYHOOK_DB set to a postgres://
# URL it stays empty.
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV POLYHOOK_ADDR=0.0.0.0:8080 \
    POLYHOOK_DB=/data/polyhook.db \
    POLYHOOK_LOG_FORMAT=json
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["/polyhook"]
CMD ["serve"]
