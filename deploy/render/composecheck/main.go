// Command composecheck loads a Compose file with compose-go, the loader `docker compose` itself uses, so the file is
// checked against the Compose specification's JSON schema and every reference in it (env_file, depends_on,
// networks, volumes, build context) is resolved, with no Docker engine. It prints the resolved project as JSON
// (env files merged into each service's environment) for tests/deploy to inspect; a load error exits 1.
//
// Usage: composecheck path/to/docker-compose.yml
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: composecheck path/to/docker-compose.yml")
		os.Exit(2)
	}
	path, err := filepath.Abs(os.Args[1])
	if err != nil {
		fail(err)
	}
	// No process environment and no .env file: the result depends on the repository's files alone.
	options, err := cli.NewProjectOptions([]string{path},
		cli.WithName("ketalink"),
		cli.WithWorkingDirectory(filepath.Dir(path)),
		cli.WithEnv([]string{}),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		fail(err)
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		fail(err)
	}
	resolved, err := project.MarshalJSON()
	if err != nil {
		fail(err)
	}
	os.Stdout.Write(resolved)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "composecheck:", err)
	os.Exit(1)
}
