################################################################################
# Placement and naming
################################################################################

variable "region" {
  description = "AWS region to create the cluster in, e.g. eu-central-1."
  type        = string
  default     = "eu-central-1"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", var.region))
    error_message = "region must be an AWS region code such as eu-central-1 or us-east-2; set region (AWS_REGION) to one."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name (Name tags, security groups, key pair), 1 to 20 lowercase letters, digits or hyphens. Use a different prefix for each cluster in the same account."
  type        = string
  default     = "akrida"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,18}[a-z0-9])?$", var.name_prefix))
    error_message = "name_prefix must be 1 to 20 characters: lowercase letters, digits and inner hyphens, starting with a letter (e.g. \"akrida\" or \"akrida-eu\")."
  }
}

variable "tags" {
  description = "Extra tags for every resource. Name, akrida:cluster and akrida:role are set by the module and win over keys of the same name here."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for key, value in var.tags : !startswith(lower(key), "aws:") && length(key) >= 1 && length(key) <= 128 && length(value) <= 256])
    error_message = "tags: keys must be 1 to 128 characters and must not start with \"aws:\" (reserved by AWS); values at most 256 characters."
  }
}

################################################################################
# Instances
################################################################################

variable "worker_count" {
  description = "Number of Locust worker VMs (each runs Locust workers and their holder agents)."
  type        = number
  default     = 2
  nullable    = false

  validation {
    condition     = var.worker_count == floor(var.worker_count) && var.worker_count >= 1 && var.worker_count <= 200
    error_message = "worker_count must be a whole number from 1 to 200; set worker_count (e.g. WORKERS=4) within that range."
  }
}

variable "master_instance_type" {
  description = "EC2 instance type of the Locust master (x86_64: the image lookup is amd64)."
  type        = string
  default     = "c7i.large"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", var.master_instance_type))
    error_message = "master_instance_type (MASTER_INSTANCE_TYPE) must be an EC2 instance type written family.size, e.g. c7i.large."
  }

  validation {
    condition     = !can(regex("^[a-z]+[0-9]+[a-z-]*g[a-z-]*\\.", var.master_instance_type))
    error_message = "master_instance_type looks like an arm64 (Graviton) type; this module boots amd64 Ubuntu images, so choose an x86_64 type such as c7i.large."
  }
}

variable "worker_instance_type" {
  description = "EC2 instance type of each Locust worker (x86_64: the image lookup is amd64)."
  type        = string
  default     = "c7i.2xlarge"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", var.worker_instance_type))
    error_message = "worker_instance_type (WORKER_INSTANCE_TYPE) must be an EC2 instance type written family.size, e.g. c7i.2xlarge."
  }

  validation {
    condition     = !can(regex("^[a-z]+[0-9]+[a-z-]*g[a-z-]*\\.", var.worker_instance_type))
    error_message = "worker_instance_type looks like an arm64 (Graviton) type; this module boots amd64 Ubuntu images, so choose an x86_64 type such as c7i.2xlarge."
  }
}

variable "ubuntu_release" {
  description = "Ubuntu LTS release of the image lookup (Canonical's amd64 server images), e.g. 24.04. Ignored when ami_id is set."
  type        = string
  default     = "24.04"
  nullable    = false

  validation {
    condition     = can(regex("^[0-9]{2}\\.04$", var.ubuntu_release)) && tonumber(split(".", var.ubuntu_release)[0]) % 2 == 0
    error_message = "ubuntu_release must be an Ubuntu LTS release such as 22.04 or 24.04 (an even year, month 04)."
  }
}

variable "ami_id" {
  description = "AMI to boot instead of the newest Canonical Ubuntu image of ubuntu_release. Empty (the default) means look it up. It must be an amd64 Ubuntu-like image with cloud-init."
  type        = string
  default     = ""
  nullable    = false

  validation {
    condition     = var.ami_id == "" || can(regex("^ami-[0-9a-f]{8}([0-9a-f]{9})?$", var.ami_id))
    error_message = "ami_id must be empty (look up Ubuntu) or an AMI id such as ami-0123456789abcdef0."
  }
}

variable "self_terminate_after_hours" {
  description = "Each instance shuts itself down, and so is terminated, this many hours after its first boot: a backstop should the Terraform state be lost, so no VM is billed forever. Keep it longer than any run (akrida caps RUN_TIME at 30 days, 720 hours)."
  type        = number
  default     = 744 # 31 days: the longest run akrida allows, and a day to provision and collect
  nullable    = false

  validation {
    condition     = var.self_terminate_after_hours == floor(var.self_terminate_after_hours) && var.self_terminate_after_hours >= 1 && var.self_terminate_after_hours <= 8760
    error_message = "self_terminate_after_hours must be a whole number of hours from 1 to 8760 (a year); keep it longer than any run."
  }
}

variable "root_volume_gb" {
  description = "Size of each instance's root volume (gp3, encrypted) in GiB."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.root_volume_gb == floor(var.root_volume_gb) && var.root_volume_gb >= 8 && var.root_volume_gb <= 1000
    error_message = "root_volume_gb must be a whole number of GiB from 8 to 1000."
  }
}

################################################################################
# SSH
################################################################################

variable "ssh_user" {
  description = "Login user of the driver and Ansible. \"ubuntu\" is the image's own user; another name is created by cloud-init with passwordless sudo and ssh_public_key."
  type        = string
  default     = "ubuntu"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_-]{0,31}$", var.ssh_user)) && var.ssh_user != "root"
    error_message = "ssh_user must be a Linux user name (lowercase letters, digits, _ or -, at most 32 characters) other than root, e.g. ubuntu."
  }
}

variable "ssh_public_key" {
  description = "OpenSSH public key (one line) that may log in as ssh_user, e.g. the contents of ~/.ssh/id_ed25519.pub. EC2 accepts ed25519 and RSA keys only."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^(ssh-ed25519|ssh-rsa) [A-Za-z0-9+/]+={0,3}( [^\\n]*)?$", trimspace(var.ssh_public_key)))
    error_message = "ssh_public_key must be one OpenSSH public key line starting with \"ssh-ed25519 \" or \"ssh-rsa \" (EC2 key pairs accept no other type); set it to the contents of your ~/.ssh/id_ed25519.pub."
  }
}

variable "host_keys" {
  description = "Pre-generated ed25519 SSH host keys, one per VM: index 0 for the master, 1 to worker_count for the workers (worker_count + 1 in all). They go into each VM's cloud-init user data, so the driver writes known_hosts from the public halves and never trusts a key on first use. The private halves end up in the Terraform state and the instances' user data."
  type = list(object({
    private_key = string
    public_key  = string
  }))
  sensitive = true
  nullable  = false

  validation {
    condition     = alltrue([for key in var.host_keys : startswith(key.public_key, "ssh-ed25519 ")])
    error_message = "host_keys: every public_key must be an OpenSSH ed25519 public key starting with \"ssh-ed25519 \" (make them with ssh-keygen -t ed25519)."
  }

  validation {
    condition = alltrue([
      for key in var.host_keys :
      strcontains(key.private_key, "-----BEGIN OPENSSH PRIVATE KEY-----") && strcontains(key.private_key, "-----END OPENSSH PRIVATE KEY-----")
    ])
    error_message = "host_keys: every private_key must be an OpenSSH private key (-----BEGIN OPENSSH PRIVATE KEY----- ... -----END OPENSSH PRIVATE KEY-----), as ssh-keygen -t ed25519 writes it."
  }

  validation {
    condition     = length(distinct([for key in var.host_keys : key.public_key])) == length(var.host_keys)
    error_message = "host_keys: every VM needs its own host key, but some public_key values repeat; generate one key pair per VM."
  }
}

################################################################################
# Network access
################################################################################

variable "operator_cidr" {
  description = "IPv4 CIDR of the operator (the machine running the driver). SSH is open to it and to nothing else. Required: there is no default."
  type        = string
  nullable    = false

  validation {
    condition     = can(cidrhost(var.operator_cidr, 0)) && !strcontains(var.operator_cidr, ":")
    error_message = "operator_cidr must be an IPv4 CIDR; set OPERATOR_CIDR to your own address, e.g. 203.0.113.7/32."
  }

  validation {
    condition     = !can(cidrhost(var.operator_cidr, 0)) || try(tonumber(split("/", var.operator_cidr)[1]) > 0, true)
    error_message = "operator_cidr must not be the whole internet (0.0.0.0/0): SSH would be open to everyone; set OPERATOR_CIDR to your own address, e.g. 203.0.113.7/32."
  }

  validation {
    condition     = !can(cidrhost(var.operator_cidr, 0)) || try(cidrsubnet(var.operator_cidr, 0, 0) == var.operator_cidr, false)
    error_message = "operator_cidr has host bits set below its prefix length (e.g. 203.0.113.7/24); set OPERATOR_CIDR to a network address such as 203.0.113.7/32 or 203.0.113.0/24."
  }
}

variable "target_cidr" {
  description = "IPv4 CIDR of the system under test (its mediator, issuer and verifier). The holder agents' port range is open to it and to nothing else: holders without mediation receive DIDComm messages from the target. Required: there is no default."
  type        = string
  nullable    = false

  validation {
    condition     = can(cidrhost(var.target_cidr, 0)) && !strcontains(var.target_cidr, ":")
    error_message = "target_cidr must be an IPv4 CIDR; set TARGET_CIDR to the address(es) of the system under test, e.g. 198.51.100.20/32."
  }

  validation {
    condition     = !can(cidrhost(var.target_cidr, 0)) || try(tonumber(split("/", var.target_cidr)[1]) > 0, true)
    error_message = "target_cidr must not be the whole internet (0.0.0.0/0): the holder agents' ports would be open to everyone; set TARGET_CIDR to the address(es) of the system under test, e.g. 198.51.100.20/32."
  }

  validation {
    condition     = !can(cidrhost(var.target_cidr, 0)) || try(cidrsubnet(var.target_cidr, 0, 0) == var.target_cidr, false)
    error_message = "target_cidr has host bits set below its prefix length (e.g. 198.51.100.20/24); set TARGET_CIDR to a network address such as 198.51.100.20/32 or 198.51.100.0/24."
  }
}

variable "agent_port_range" {
  description = "TCP ports of the holder agents' inbound DIDComm endpoints (AGENT_PORT_RANGE), open to target_cidr only."
  type = object({
    from = number
    to   = number
  })
  default  = { from = 10000, to = 10999 }
  nullable = false

  validation {
    condition = (
      var.agent_port_range.from == floor(var.agent_port_range.from) && var.agent_port_range.to == floor(var.agent_port_range.to) &&
      var.agent_port_range.from >= 1024 && var.agent_port_range.to <= 65535 && var.agent_port_range.from <= var.agent_port_range.to
    )
    error_message = "agent_port_range must be whole port numbers with 1024 <= from <= to <= 65535, e.g. { from = 10000, to = 10999 } (AGENT_PORT_RANGE=10000-10999)."
  }
}

variable "locust_master_port" {
  description = "TCP port of Locust's master/worker ZeroMQ channel (Locust 2.x uses this one port) on the master; open only to the cluster's own VMs, never to the operator or the internet."
  type        = number
  default     = 5557
  nullable    = false

  validation {
    condition     = var.locust_master_port == floor(var.locust_master_port) && var.locust_master_port >= 1024 && var.locust_master_port <= 65535
    error_message = "locust_master_port must be a whole port number from 1024 to 65535, e.g. 5557."
  }
}
