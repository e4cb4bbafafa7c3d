variable "worker_count" {
  description = "Number of worker hosts, besides the one master."
  type        = number
  default     = 2

  validation {
    condition     = var.worker_count >= 1 && var.worker_count <= 20 && floor(var.worker_count) == var.worker_count
    error_message = "worker_count (WORKERS) must be a whole number from 1 to 20 on the lab: every lab host shares this machine."
  }
}

variable "cidr" {
  description = "Private network of the lab hosts. The bridge takes the first address, the master .10, workers .11 onward."
  type        = string
  default     = "10.200.0.0/24"

  validation {
    condition     = can(cidrhost(var.cidr, 0)) && tonumber(split("/", var.cidr)[1]) >= 16 && tonumber(split("/", var.cidr)[1]) <= 26
    error_message = "cidr must be an IPv4 network from /16 to /26, such as 10.200.0.0/24."
  }
}

variable "name_prefix" {
  description = "Prefix of the lab's namespaces, veths and bridge. Interface names are limited to 15 characters."
  type        = string
  default     = "akl"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,5}$", var.name_prefix))
    error_message = "name_prefix must be 2 to 6 lowercase letters or digits, starting with a letter."
  }
}

variable "state_dir" {
  description = "Absolute folder for the hosts' sshd configurations, keys and root folders."
  type        = string

  validation {
    condition     = startswith(var.state_dir, "/")
    error_message = "state_dir must be an absolute path."
  }
}

variable "ssh_public_key" {
  description = "Public key allowed to log in to every host as root."
  type        = string

  validation {
    condition     = can(regex("^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp[0-9]+) ", var.ssh_public_key))
    error_message = "ssh_public_key must be an OpenSSH public key line (ssh-ed25519 AAAA…)."
  }
}

variable "host_keys" {
  description = "One ed25519 SSH host key per host (master first), so that known_hosts is written from what provisioning made."
  type = list(object({
    private_key = string
    public_key  = string
  }))

  validation {
    condition     = alltrue([for key in var.host_keys : startswith(key.public_key, "ssh-ed25519 ")])
    error_message = "host_keys must hold ed25519 keys (public_key starting with ssh-ed25519)."
  }
}
