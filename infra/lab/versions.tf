terraform {
  # terraform_data is built in (1.4+), so the lab needs no provider and no registry.
  required_version = ">= 1.4"

  # The driver sets the path at init (-backend-config=path=…), keeping state out of the source tree.
  backend "local" {}
}
