// Package glance is ck's view of OpenStack Glance (and the Keystone calls
// it needs): a small client interface in ck's own types, and its
// gophercloud implementation. Only this package imports gophercloud.
package glance

import "time"

// Image is one Glance image as ck observes it.
type Image struct {
	ID              string
	Name            string
	Owner           string // project id
	Status          string // queued, saving, importing, active, deactivated, killed, deleted, pending_delete
	Visibility      string // private, shared, community, public
	Hidden          bool   // os_hidden
	Protected       bool
	Tags            []string
	Properties      map[string]string // every additional (custom) property, as strings
	DiskFormat      string
	ContainerFormat string
	MinRAM          int // MiB
	MinDisk         int // GiB
	Size            int64
	VirtualSize     int64
	HashAlgo        string // os_hash_algo
	HashValue       string // os_hash_value
	CreatedAt       time.Time
	UpdatedAt       time.Time
	// Members are the image's members when they were observed
	// (--share-mode members); nil when they were not looked at.
	Members []Member
}
