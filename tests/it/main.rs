mod slurm;
