package supervisor

// Group names an endpoint group: one Lambda function each.
type Group string

// The endpoint groups.
const (
	GroupJobs        Group = "jobs"
	GroupHealth      Group = "health"
	GroupSuperTasks  Group = "super-tasks"
	GroupDiagnostics Group = "diagnostics"
)

// BasePath prefixes every route.
const BasePath = "/api/v1/supervisor"

// Route is one endpoint: its full path, the ability it needs and the group
// whose function serves it. Every route takes POST only.
type Route struct {
	Path    string
	Ability Ability
	Group   Group
}

// Routes lists the eleven endpoints of the contract. The authorizer builds
// its policies from it, each function's router serves its group's share,
// and a test holds template.yaml and the OpenAPI document to it.
var Routes = []Route{
	{BasePath + "/jobs", AbilityRead, GroupJobs},
	{BasePath + "/jobs/retry", AbilityWrite, GroupJobs},
	{BasePath + "/jobs/delete", AbilityWrite, GroupJobs},
	{BasePath + "/health", AbilityRead, GroupHealth},
	{BasePath + "/health/manage", AbilityRead, GroupHealth},
	{BasePath + "/health/disk/store", AbilityWrite, GroupHealth},
	{BasePath + "/health/disk/delete", AbilityWrite, GroupHealth},
	{BasePath + "/health/exception/store", AbilityWrite, GroupHealth},
	{BasePath + "/health/exception/delete", AbilityWrite, GroupHealth},
	{BasePath + "/super-tasks", AbilityRead, GroupSuperTasks},
	{BasePath + "/diagnostics", AbilityRead, GroupDiagnostics},
}

// RouteFor returns the route with the given path, and false when the path
// is not one of the contract's.
func RouteFor(path string) (Route, bool) {
	for _, r := range Routes {
		if r.Path == path {
			return r, true
		}
	}
	return Route{}, false
}

// GroupRoutes returns the routes a group serves, in table order.
func GroupRoutes(g Group) []Route {
	var out []Route
	for _, r := range Routes {
		if r.Group == g {
			out = append(out, r)
		}
	}
	return out
}
