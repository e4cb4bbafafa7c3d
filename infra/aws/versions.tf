terraform {
  # 1.7 brings the mock providers of its tests; the configuration itself needs 1.5 (strcontains).
  required_version = ">= 1.7"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # The configuration also stays within what AWS provider 3.39.0 offers, because that is the
      # only AWS provider the offline checks (tests/infra) can install; see README.md.
      version = ">= 5.0, < 7.0"
    }
  }

  # State stays on the controller: the driver sets the path at init (-backend-config=path=…), in
  # .akrida/cluster/aws/. For a team, replace this with an S3 backend.
  backend "local" {}
}
