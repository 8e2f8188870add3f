package plantest

import (
	"time"

	"github.com/ck-sync/ck/pkg/glance"
	"github.com/ck-sync/ck/pkg/plan"
)

// Projects of the scenario, and the names a renderer may show for them.
const (
	ProjectAlpha = "0a1fa1fa0a1fa1fa0a1fa1fa0a1fa1fa"
	ProjectBeta  = "0be7a0be7a0be7a0be7a0be7a0be7a0b"
	ProjectOther = "0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e" // not managed by ck
)

// ProjectNames maps the scenario's project ids to names.
var ProjectNames = map[string]string{ProjectAlpha: "vo-alpha", ProjectBeta: "vo-beta"}

// Sources of the scenario's lists.
const (
	SourceAlpha = "https://vmcaster.example.org/store/vo/alpha.vo/image.list"
	SourceBeta  = "https://vmcaster.example.org/store/vo/beta.vo/image.list"
	SourceGamma = "https://vmcaster.example.org/store/vo/gamma.vo/image.list"
	SourceDelta = "https://vmcaster.example.org/store/vo/delta.vo/image.list"
	SourceOld   = "https://vmcaster.example.org/store/vo/old.vo/image.list"
)

// Scenario returns inputs whose plan holds every action and every reason
// Build plans, a failed and a skipped list, kept, ignored, unusable and
// retired images, and one image of each notice kind: an impostor (ck's
// marks on other bytes), an image an operator deactivated, and an old
// tool's image whose bytes Glance does not prove.
func Scenario() ([]plan.ListInput, []glance.Image, plan.Policy) {
	pol := plan.Policy{Tag: "ck", ManagedProjects: []string{ProjectAlpha, ProjectBeta}, MaxRetire: -1, FullSet: true, Adopt: true}
	month := Now.Add(30 * 24 * time.Hour)
	t0 := Now.Add(-10 * 24 * time.Hour)

	imgNew := Image("a-new", "Ubuntu 24.04", "1")
	imgContent := Image("a-content", "CentOS 7", "2")
	imgMeta := Image("a-meta", "Debian 12", "3")
	imgSame := Image("a-same", "AlmaLinux 9", "1")
	imgRepub := Image("a-repub", "Rocky 9", "1")
	imgDup := Image("a-dup", "Fedora 40", "1")
	imgExp := Image("a-exp", "Scientific Linux 6", "1")
	imgExp.Expires = Now.Add(-time.Hour)
	imgExp = WithRaw(imgExp)
	imgGone := Image("a-gone", "CentOS 6", "1")
	imgCKOS := Image("a-ckos", "CernVM 4", "1")      // cloudkeeper-os has it: adopt
	imgAtrope := Image("a-atrope", "Debian 11", "2") // atrope has older bytes: created next to it
	imgDeact := Image("a-deact", "openSUSE 15", "1") // an operator deactivated ck's image
	alpha := List("list-alpha", "alpha.vo", month, imgNew, imgContent, imgMeta, imgSame, imgRepub, imgDup, imgExp, imgCKOS, imgAtrope, imgDeact)

	beta := List("list-beta", "beta.vo", Now.Add(-24*time.Hour), Image("b-1", "Beta image", "1"))
	gamma := List("list-gamma", "gamma.vo", month, Image("g-1", "Gamma image", "1"))
	old := List("list-old", "old.vo", month, Image("o-1", "Old image", "1"))
	delta := List("list-delta", "delta.vo", month, Image("d-1", "Delta image", "1"))

	lists := []plan.ListInput{
		{Source: SourceAlpha, Status: plan.ListValid, List: alpha, Project: ProjectAlpha, Digest: SHA("alpha")[:64]},
		{Source: SourceBeta, Status: plan.ListExpired, List: beta, Project: ProjectBeta, Reason: "list expired at 2025-05-31T12:00:00Z", Digest: SHA("beta")[:64]},
		{Source: SourceGamma, Status: plan.ListFailed, ListID: "list-gamma", Project: ProjectBeta, Reason: "verify: endorser DN mismatch"},
		{Source: SourceDelta, Status: plan.ListSkipped, List: delta, Reason: `no project mapped for VO "delta.vo"`},
	}

	// What Glance holds before the run.
	oldContent := imgContent
	oldContent.SHA512, oldContent.Version = SHA("a-content@1"), "1"
	oldMeta := imgMeta
	oldMeta.Version = "2" // same bytes, new hv:version: metadata only
	oldMeta = WithRaw(oldMeta)
	repub := CKImage(alpha, imgRepub, SourceAlpha, ProjectAlpha, "g-repub", t0, pol)
	repub.Properties[plan.PropRetired] = Now.Add(-48 * time.Hour).Format(time.RFC3339)
	repub.Hidden = true
	oldRetired := CKImage(alpha, imgGone, SourceAlpha, ProjectAlpha, "g-gone-retired", t0.Add(-time.Hour), pol)
	oldRetired.Properties[plan.PropRetired] = Now.Add(-72 * time.Hour).Format(time.RFC3339)
	oldRetired.Hidden = true
	queued := CKImage(alpha, imgNew, SourceAlpha, ProjectAlpha, "g-queued", t0, pol)
	queued.Status = "queued"

	foreign := glance.Image{ID: "g-foreign", Name: "site image", Owner: ProjectAlpha, Status: "active"}
	ckos := glance.Image{ID: "g-ckos", Name: "CernVM 4", Owner: ProjectAlpha, Status: "active", Visibility: "private",
		Tags: []string{}, Size: imgCKOS.Size, HashAlgo: "sha512", HashValue: imgCKOS.SHA512, CreatedAt: t0, UpdatedAt: t0,
		Properties: map[string]string{plan.PropCKOSListID: "list-alpha", plan.PropCKOSImageID: "a-ckos", plan.PropCKOSStatus: "ACTIVE", "APPLIANCE_TITLE": "CernVM 4"}}
	atrope := glance.Image{ID: "g-atrope", Name: "Debian 11", Owner: ProjectAlpha, Status: "active", Visibility: "private",
		Tags: []string{"atrope"}, Size: imgAtrope.Size, HashAlgo: "sha512", HashValue: SHA("a-atrope@1"), CreatedAt: t0, UpdatedAt: t0,
		Properties: map[string]string{plan.PropAtropeImageID: "a-atrope", plan.PropAtropeList: "alpha", plan.PropAtropeHash: "sha512:" + SHA("a-atrope@1")}}
	tagOnly := glance.Image{ID: "g-tag-only", Name: "tagged by hand", Owner: ProjectAlpha, Status: "active", Tags: []string{"ck"}}
	elsewhere := CKImage(alpha, imgSame, SourceAlpha, ProjectOther, "g-other-project", t0, pol)
	snapshot := CKImage(alpha, imgSame, SourceAlpha, ProjectAlpha, "g-snapshot", t0, pol)
	snapshot.Properties[plan.PropImageType] = "snapshot"
	// A member's upload of other bytes with ck's tag and properties copied,
	// newer than ck's: it must neither win nor be touched.
	impostor := WithGlanceHash(CKImage(alpha, imgSame, SourceAlpha, ProjectAlpha, "g-impostor", Now.Add(-time.Hour), pol), "sha512", SHA("forged"), 1<<20)
	impostor.Visibility = "private"
	deact := CKImage(alpha, imgDeact, SourceAlpha, ProjectAlpha, "g-deact", t0, pol)
	deact.Status = "deactivated"

	observed := []glance.Image{
		CKImage(alpha, oldContent, SourceAlpha, ProjectAlpha, "g-content", t0, pol),
		CKImage(alpha, oldMeta, SourceAlpha, ProjectAlpha, "g-meta", t0, pol),
		CKImage(alpha, imgSame, SourceAlpha, ProjectAlpha, "g-same", t0, pol),
		repub,
		CKImage(alpha, imgDup, SourceAlpha, ProjectAlpha, "g-dup-new", t0, pol),
		CKImage(alpha, imgDup, SourceAlpha, ProjectAlpha, "g-dup-old", t0.Add(-time.Hour), pol),
		CKImage(alpha, imgExp, SourceAlpha, ProjectAlpha, "g-exp", t0, pol),
		CKImage(alpha, imgGone, SourceAlpha, ProjectAlpha, "g-gone", t0, pol),
		oldRetired,
		queued,
		CKImage(alpha, imgSame, SourceAlpha, ProjectBeta, "g-moved", t0, pol),
		CKImage(beta, beta.Images[0], SourceBeta, ProjectBeta, "g-beta", t0, pol),
		CKImage(gamma, gamma.Images[0], SourceGamma, ProjectBeta, "g-gamma", t0, pol),
		CKImage(old, old.Images[0], SourceOld, ProjectAlpha, "g-old", t0, pol),
		foreign, tagOnly, elsewhere, snapshot, ckos, atrope, impostor, deact,
	}
	return lists, observed, pol
}
