package main

import (
	_ "github.com/gophercloud/gophercloud/v2"
	_ "github.com/gophercloud/utils/v2/openstack/clientconfig"
	_ "github.com/schollz/progressbar/v3"
	_ "github.com/smallstep/pkcs7"
	_ "github.com/spf13/cobra"
	_ "gopkg.in/yaml.v3"
)

func main() {}
