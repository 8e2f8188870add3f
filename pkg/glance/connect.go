package glance

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/gophercloud/gophercloud/v2/pagination"
	"github.com/gophercloud/utils/v2/openstack/clientconfig"
)

// DefaultPageSize is how many images one list request asks for.
const DefaultPageSize = 1000

// Config says which cloud to use and how to talk to it.
type Config struct {
	// Cloud is the clouds.yaml entry; "" means $OS_CLOUD. clouds.yaml is found
	// through OS_CLIENT_CONFIG_FILE or the usual places, merged with
	// secure.yaml, and OS_* variables fill what it leaves out.
	Cloud string
	// ProjectID, when set, scopes the same user's token to this project
	// instead of the cloud's own (ck's per-VO copies).
	ProjectID string
	// ProjectName and ProjectDomainName, when ProjectID is empty, scope the
	// token to the project of that name in that domain: mapping.json's
	// {"project": NAME, "domain": DOMAIN}, which the user may reach even
	// when /v3/auth/projects does not show domain names.
	ProjectName       string
	ProjectDomainName string
	// HTTPClient replaces the client built from the cloud's TLS settings.
	HTTPClient *http.Client
	// Timeout, when set, bounds the wait for each answer's headers (after
	// the request was sent, so a long upload is not cut short).
	Timeout time.Duration
	// UserAgent is prepended to gophercloud's User-Agent, e.g. "ck/1.2.3".
	UserAgent string
	// PageSize is the list page size; 0 means DefaultPageSize.
	PageSize int
}

// Service is a connection to one cloud's Glance (and Keystone), scoped to one
// project. It implements Client and is safe for concurrent use.
type Service struct {
	provider  *gophercloud.ProviderClient
	image     *gophercloud.ServiceClient
	identity  *gophercloud.ServiceClient
	projectID string
	pageSize  int
	seal      *sealSecret
}

// Connect authenticates (with re-authentication allowed, so a long sync
// outlives its token) and finds the image endpoint in the catalogue.
func Connect(ctx context.Context, cfg Config) (*Service, error) {
	name := cfg.Cloud
	if name == "" {
		name = os.Getenv("OS_CLOUD")
	}
	opts := &clientconfig.ClientOpts{Cloud: name}
	cloud := &clientconfig.Cloud{}
	if name != "" {
		c, err := clientconfig.GetCloudFromYAML(opts)
		if err != nil {
			return nil, cloudError(name, err)
		}
		cloud = c
	}
	ao, err := clientconfig.AuthOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("auth: cloud %q: %w", name, err)
	}
	ao.AllowReauth = true
	switch {
	case cfg.ProjectID != "":
		// The scope wins over the cloud's project; the tenant fields would
		// otherwise be sent along and conflict with it.
		ao.Scope = &gophercloud.AuthScope{ProjectID: cfg.ProjectID}
		ao.TenantID, ao.TenantName = "", ""
	case cfg.ProjectName != "":
		ao.Scope = &gophercloud.AuthScope{ProjectName: cfg.ProjectName, DomainName: cfg.ProjectDomainName}
		ao.TenantID, ao.TenantName = "", ""
	}

	provider, err := openstack.NewClient(ao.IdentityEndpoint)
	if err != nil {
		return nil, fmt.Errorf("auth: cloud %q: auth_url %q: %w", name, ao.IdentityEndpoint, err)
	}
	if cfg.HTTPClient != nil {
		provider.HTTPClient = *cfg.HTTPClient
	} else {
		tlsConfig, err := clientconfig.PrepareTLSConfig("OS_", cloud)
		if err != nil {
			return nil, fmt.Errorf("auth: cloud %q: TLS settings: %w", name, err)
		}
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.TLSClientConfig = tlsConfig
		// Image uploads are long chunked streams: large buffers mean fewer
		// chunks and syscalls per GiB (measured with make bench).
		transport.WriteBufferSize = 1 << 20
		transport.ResponseHeaderTimeout = cfg.Timeout
		transport.ReadBufferSize = 64 << 10
		provider.HTTPClient = http.Client{Transport: transport}
	}
	if cfg.UserAgent != "" {
		provider.UserAgent.Prepend(cfg.UserAgent)
	}
	if err := openstack.Authenticate(ctx, provider, *ao); err != nil {
		return nil, wrapErr(fmt.Sprintf("auth: cloud %q at %s", name, ao.IdentityEndpoint), err)
	}

	eo := gophercloud.EndpointOpts{
		Region:       firstNonEmpty(cloud.RegionName, os.Getenv("OS_REGION_NAME")),
		Availability: gophercloud.Availability(firstNonEmpty(cloud.EndpointType, os.Getenv("OS_INTERFACE"), "public")),
	}
	image, err := openstack.NewImageV2(provider, eo)
	if err != nil {
		return nil, fmt.Errorf("auth: cloud %q: no image (Glance) endpoint in the catalogue for region %q, interface %q: %w", name, eo.Region, eo.Availability, err)
	}
	identity, err := openstack.NewIdentityV3(provider, eo)
	if err != nil {
		return nil, fmt.Errorf("auth: cloud %q: no identity v3 endpoint: %w", name, err)
	}
	s := &Service{provider: provider, image: image, identity: identity, pageSize: cfg.PageSize, seal: newSealSecret(ao)}
	if s.pageSize <= 0 {
		s.pageSize = DefaultPageSize
	}
	if r, ok := provider.GetAuthResult().(tokens.CreateResult); ok {
		if p, err := r.ExtractProject(); err == nil && p != nil {
			s.projectID = p.ID
		}
	}
	return s, nil
}

// cloudError says which clouds.yaml was read when a cloud is missing, since
// "not found" is most often the wrong file rather than the wrong name.
func cloudError(name string, err error) error {
	path, _, findErr := clientconfig.FindAndReadCloudsYAML()
	switch {
	case findErr != nil || path == "":
		return fmt.Errorf("auth: cloud %q: no clouds.yaml found (set OS_CLIENT_CONFIG_FILE, or use ./clouds.yaml, ~/.config/openstack/clouds.yaml, /etc/openstack/clouds.yaml): %w", name, err)
	case strings.Contains(err.Error(), "does not exist") || strings.Contains(err.Error(), "could not find cloud"):
		return fmt.Errorf("auth: cloud %q not found in %s", name, path)
	default:
		return fmt.Errorf("auth: cloud %q: reading %s: %w", name, path, err)
	}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// ProjectID returns the project the token is scoped to ("" when unscoped).
func (s *Service) ProjectID() string { return s.projectID }

// Projects lists the projects the connected user has a role on (Keystone's
// /v3/auth/projects, allowed for any user), to resolve mapping.json names.
func (s *Service) Projects(ctx context.Context) ([]Project, error) {
	var out []Project
	err := projects.ListAvailable(s.identity).EachPage(ctx, func(_ context.Context, page pagination.Page) (bool, error) {
		ps, err := projects.ExtractProjects(page)
		if err != nil {
			return false, err
		}
		for _, p := range ps {
			out = append(out, Project{ID: p.ID, Name: p.Name, DomainID: p.DomainID})
		}
		return true, nil
	})
	if err != nil {
		return nil, wrapErr("list projects", err)
	}
	return out, nil
}
