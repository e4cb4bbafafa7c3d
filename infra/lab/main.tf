# The lab: one master and worker_count workers as network namespaces on this machine, each running
# its own sshd, joined by a bridge that holds the gateway address. scripts/lab-hosts.sh does the work;
# Terraform records what exists so that `terraform destroy` removes it.

locals {
  gateway = cidrhost(var.cidr, 1)
  prefix  = split("/", var.cidr)[1]
  master  = cidrhost(var.cidr, 10)
  workers = [for index in range(var.worker_count) : cidrhost(var.cidr, 11 + index)]
  hosts = concat(
    ["master=${local.master}"],
    [for index, address in local.workers : "worker-${index + 1}=${address}"],
  )
  script = abspath("${path.module}/../../scripts/lab-hosts.sh")
}

resource "terraform_data" "hosts" {
  lifecycle {
    precondition {
      condition     = length(var.host_keys) == var.worker_count + 1
      error_message = "host_keys must hold worker_count + 1 keys: one for the master and one per worker."
    }
  }

  # Any change rebuilds the lab; hosts are cheap here.
  triggers_replace = [var.cidr, var.name_prefix, var.state_dir, local.hosts, var.ssh_public_key, var.host_keys]

  # What the destroy-time provisioner may read (it can only see self).
  input = {
    script = local.script
    dir    = var.state_dir
    prefix = var.name_prefix
  }

  provisioner "local-exec" {
    command = "${local.script} up"
    environment = {
      AKRIDA_LAB_DIR        = var.state_dir
      AKRIDA_LAB_PREFIX     = var.name_prefix
      AKRIDA_LAB_GATEWAY    = "${local.gateway}/${local.prefix}"
      AKRIDA_LAB_HOSTS      = join(" ", local.hosts)
      AKRIDA_LAB_CLIENT_KEY = var.ssh_public_key
      AKRIDA_LAB_HOST_KEYS  = jsonencode(var.host_keys)
    }
  }

  provisioner "local-exec" {
    when    = destroy
    command = "${self.input.script} down"
    environment = {
      AKRIDA_LAB_DIR    = self.input.dir
      AKRIDA_LAB_PREFIX = self.input.prefix
    }
  }
}
